using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>An <c>ai</c> service's aliases name its own providers, and its provider URLs are absolute http(s).</summary>
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
        }

        foreach (var (alias, targets) in ai.Models)
        {
            if (targets.Count == 0)
            {
                scope.B.Error(YamlBinder.Join(scope.At("models"), alias), scope.Node, $"alias '{alias}' lists no provider model; add one, e.g. '[ {{ provider: local, model: llama3 }} ]'.");
                ok = false;
            }

            for (var i = 0; i < targets.Count; i++)
            {
                if (!ai.Providers.ContainsKey(targets[i].Provider))
                {
                    var known = ai.Providers.Count == 0 ? "none is defined" : "one of " + string.Join(", ", ai.Providers.Keys);
                    scope.B.Error($"{YamlBinder.Join(scope.At("models"), alias)}[{i}].provider", scope.Node, $"'{targets[i].Provider}' is not a provider of this service; use {known}.");
                    ok = false;
                }
            }
        }

        return ok ? ai : null;
    }
}
