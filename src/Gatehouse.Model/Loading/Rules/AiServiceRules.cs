using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>
/// An <c>ai</c> service's aliases name its own providers, its provider URLs are absolute http(s), and each provider's
/// settings fit its type.
/// </summary>
internal sealed class AiServiceRules : BindingRules<AiServiceConfig>
{
    protected override AiServiceConfig? Check(AiServiceConfig ai, BindingScope scope)
    {
        var ok = true;
        foreach (var (name, provider) in ai.Providers)
        {
            if (!Uri.TryCreate(provider.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
                || url.Query.Length > 0 || url.Fragment.Length > 0)
            {
                scope.B.Error(YamlBinder.Join(scope.At("providers"), name) + ".url", scope.Node, $"'{provider.Url}' is not an http(s) URL without query; write the provider's API base, e.g. 'https://api.openai.com/v1'.");
                ok = false;
            }

            ok &= CheckType(YamlBinder.Join(scope.At("providers"), name), provider, scope);
        }

        foreach (var (alias, targets) in ai.Models)
        {
            if (targets.Count == 0)
            {
                scope.B.Error(YamlBinder.Join(scope.At("models"), alias), scope.Node, $"alias '{alias}' lists no provider model; add one, e.g. '[ {{ provider: local, model: llama3 }} ]'.");
                ok = false;
            }

            ok &= CheckOrder(YamlBinder.Join(scope.At("models"), alias), targets, scope);
            for (var i = 0; i < targets.Count; i++)
            {
                if (targets[i].Price is { } price && (!(price.Prompt >= 0) || !(price.Completion >= 0) || double.IsInfinity(price.Prompt) || double.IsInfinity(price.Completion)))
                {
                    scope.B.Error($"{YamlBinder.Join(scope.At("models"), alias)}[{i}].price", scope.Node, "a price is per million tokens and not negative, e.g. 'price: { prompt: 0.15, completion: 0.60 }'.");
                    ok = false;
                }

                if (!ai.Providers.ContainsKey(targets[i].Provider))
                {
                    var known = ai.Providers.Count == 0 ? "none is defined" : "one of " + string.Join(", ", ai.Providers.Keys);
                    scope.B.Error($"{YamlBinder.Join(scope.At("models"), alias)}[{i}].provider", scope.Node, $"'{targets[i].Provider}' is not a provider of this service; use {known}.");
                    ok = false;
                }
                else if (ai.Providers[targets[i].Provider].Type == AiProviderType.Azure && !IsToken(targets[i].Model))
                {
                    // It becomes a path segment of the provider's URL.
                    scope.B.Error($"{YamlBinder.Join(scope.At("models"), alias)}[{i}].model", scope.Node, $"'{targets[i].Model}' is not an Azure deployment name; write the deployment's name as Azure shows it (letters, digits, '-', '_', '.').");
                    ok = false;
                }
            }
        }

        foreach (var (name, prompt) in ai.Prompts)
        {
            if (!ai.Models.ContainsKey(prompt.Model))
            {
                var known = ai.Models.Count == 0 ? "none is defined" : "one of " + string.Join(", ", ai.Models.Keys);
                scope.B.Error(YamlBinder.Join(scope.At("prompts"), name) + ".model", scope.Node, $"'{prompt.Model}' is not a model alias of this service; use {known}.");
                ok = false;
            }
        }

        return ok ? ai : null;
    }

    /// <summary>Priorities set on every entry or on none; weights in range, and only where entries share a priority.</summary>
    private static bool CheckOrder(string path, IReadOnlyList<AiModelTargetConfig> targets, BindingScope scope)
    {
        var ok = true;
        var explicitly = targets.Any(t => t.Priority is not null);
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            if (explicitly && target.Priority is null)
            {
                scope.B.Error($"{path}[{i}].priority", scope.Node, "other entries of this alias set 'priority', so this one must too (e.g. 'priority: 0'); or remove it from all of them to try them in list order.");
                ok = false;
            }
            else if (target.Weight is < 1 or > 1_000_000)
            {
                scope.B.Error($"{path}[{i}].weight", scope.Node, $"{target.Weight} is not a weight; write a whole number from 1 to 1000000 (its share among the entries of its priority).");
                ok = false;
            }
            else if (target.Weight != 1 && !targets.Where((t, j) => j != i && t.Priority is not null && t.Priority == target.Priority).Any())
            {
                scope.B.Error($"{path}[{i}].weight", scope.Node, "a weight shares calls among entries of the same priority, and no other entry of this alias has this one's; give the entries to share calls the same 'priority', or remove 'weight'.");
                ok = false;
            }
        }

        return ok;
    }

    private static bool CheckType(string path, AiProviderConfig provider, BindingScope scope)
    {
        switch (provider.Type)
        {
            case not AiProviderType.Openai when !provider.ResponsesApi:
                scope.B.Error(path + ".responsesApi", scope.Node, "'responsesApi: false' is for 'type: openai' servers that have only chat completions; Azure's have the Responses API, and Anthropic's calls are translated anyway, so remove it.");
                return false;
            case not AiProviderType.Anthropic when provider.PromptCache:
                scope.B.Error(path + ".promptCache", scope.Node, "'promptCache' marks Anthropic's prompt cache, for 'type: anthropic'; OpenAI's and Azure's providers cache long prompts on their own, so remove it.");
                return false;
            case AiProviderType.Openai when provider.ApiVersion is not null:
                scope.B.Error(path + ".apiVersion", scope.Node, "an 'openai' provider has no API version; remove 'apiVersion' (it is for 'type: anthropic' and 'type: azure').");
                return false;
            case AiProviderType.Anthropic when provider.Credential is { } credential && !string.Equals(credential.Header, "x-api-key", StringComparison.OrdinalIgnoreCase):
                scope.B.Error(path + ".credential.header", scope.Node, $"Anthropic reads its key from 'x-api-key', not '{credential.Header}'; write 'credential: {{ env: {credential.Env}, header: x-api-key }}'.");
                return false;
            case AiProviderType.Azure when provider.Credential is { } credential
                && !string.Equals(credential.Header, "api-key", StringComparison.OrdinalIgnoreCase) && !string.Equals(credential.Header, "Authorization", StringComparison.OrdinalIgnoreCase):
                scope.B.Error(path + ".credential.header", scope.Node, $"Azure OpenAI reads its key from 'api-key' (or an Entra token from 'Authorization'), not '{credential.Header}'; write 'credential: {{ env: {credential.Env}, header: api-key }}'.");
                return false;
            case AiProviderType.Anthropic or AiProviderType.Azure when provider.ApiVersion is { } version && !IsToken(version):
                scope.B.Error(path + ".apiVersion", scope.Node, $"'{version}' is not an API version; write a date such as '2023-06-01'.");
                return false;
            default:
                return true;
        }
    }

    // Sent as a header value, a query value or a path segment: letters, digits, '-', '.', '_' only.
    private static bool IsToken(string value) =>
        value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');
}
