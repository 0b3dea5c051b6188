using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Composition;

/// <summary>How a step's call is made: URL from encoded values only, the gateway's own headers, bounded body reading.</summary>
internal sealed partial class CompositionRun
{
    private static readonly UriCreationOptions UriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private async Task<JsonObject> FanOutAsync(CompiledStep step)
    {
        var found = new List<JsonNode?>();
        new TemplateEvaluator(Root).ResolveMany(step.ForEach!, found);
        if (!step.ForEach!.HasWildcard && found is [JsonArray array])
        {
            found = [.. array];
        }
        else if (!step.ForEach.HasWildcard && found is [null])
        {
            found = [];
        }

        // Identical items make identical calls: each distinct value is called once.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var items = found.Where(i => seen.Add(TemplateEvaluator.KeyOf(i))).ToList();
        var max = step.Config.MaxItems ?? _model.Compiled.Config.MaxItems;
        if (items.Count > max)
        {
            throw new StepFailure(502, "composition-too-many-items", $"Step '{step.Name}' would run for {items.Count} items, over the limit of {max} (maxItems).");
        }

        if (step.Config.Batch is { } batch)
        {
            if (items.Count == 0)
            {
                return new JsonObject { ["status"] = null, ["headers"] = new JsonObject(), ["body"] = new JsonArray() };
            }

            var extra = $"{Uri.EscapeDataString(batch.Param)}={string.Join(batch.Separator, items.Select(i => Uri.EscapeDataString(Text(step, "batch", i, fromRequest: false))))}";
            var envelope = await CallAsync(step, null, _cts.Token, extra).ConfigureAwait(false);
            if (envelope["body"] is not JsonArray returned)
            {
                throw new StepFailure(502, "composition-batch-not-array", $"Step '{step.Name}': the batched call did not return a JSON array.");
            }

            var byKey = new Dictionary<string, JsonNode>(returned.Count, StringComparer.Ordinal);
            foreach (var element in returned)
            {
                if (element is JsonObject o && o.TryGetPropertyValue(batch.Key, out var key))
                {
                    byKey.TryAdd(TemplateEvaluator.KeyOf(key), element);
                }
            }

            // The parsed array is this call's own, and the items are distinct, so each element is moved (not cloned)
            // into the result, in the items' order.
            var ordered = new List<JsonNode>(items.Count);
            foreach (var i in items)
            {
                if (byKey.GetValueOrDefault(TemplateEvaluator.KeyOf(i)) is { } element)
                {
                    ordered.Add(element);
                }
            }

            returned.Clear();
            envelope["body"] = new JsonArray([.. ordered]);
            return envelope;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        using var gate = new SemaphoreSlim(step.Config.Concurrency);
        var calls = items.Select(async item =>
        {
            await gate.WaitAsync(cts.Token).ConfigureAwait(false);
            try
            {
                return await CallAsync(step, item, cts.Token).ConfigureAwait(false);
            }
            catch
            {
                // One item failing fails the step: stop the others.
                await cts.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                gate.Release();
            }
        }).ToList();

        try
        {
            var envelopes = await Task.WhenAll(calls).ConfigureAwait(false);
            return new JsonObject { ["status"] = 200, ["headers"] = new JsonObject(), ["body"] = new JsonArray([.. envelopes.Select(e => e["body"]?.DeepClone())]) };
        }
        catch (Exception) when (calls.FirstOrDefault(c => c.IsFaulted && c.Exception!.InnerException is StepFailure) is { } failed)
        {
            throw failed.Exception!.InnerException!;
        }
    }

    private async Task<JsonObject> CallAsync(CompiledStep step, JsonNode? item, CancellationToken ct, string? extraQuery = null)
    {
        var evaluator = new TemplateEvaluator(Root);
        JsonNode? Eval(Template t) => item is null && step.ForEach is null ? evaluator.Evaluate(t) : evaluator.Evaluate(t, "item", item);

        // The path: literal segments from the config, every value exactly one percent-encoded segment.
        var target = new StringBuilder();
        foreach (var segment in step.Path.Segments)
        {
            target.Append('/');
            if (segment.Kind == SegmentKind.Literal)
            {
                target.Append(segment.Value);
            }
            else
            {
                var t = step.Params[segment.Value];
                target.Append(UpstreamPathTemplate.EncodeSegment(Text(step, $"parameter '{segment.Value}'", Eval(t), FromRequest(t))));
            }
        }

        if (step.Path.Segments.Count == 0)
        {
            target.Append('/');
        }

        var separator = '?';
        foreach (var (name, t) in step.Query)
        {
            var value = Eval(t);
            foreach (var v in value is JsonArray a ? [.. a] : new[] { value })
            {
                if (v is null)
                {
                    continue;
                }

                target.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(Text(step, $"query '{name}'", v, FromRequest(t))));
                separator = '&';
            }
        }

        if (extraQuery is not null)
        {
            target.Append(separator).Append(extraQuery);
        }

        var upstream = _snapshot.Upstreams[step.Service];
        while (true)
        {
            var destination = upstream.Pick()
                ?? throw new StepFailure(503, "no-healthy-upstream", $"Step '{step.Name}': service '{step.Service}' has no healthy target right now; try again shortly.");
            if (!upstream.TryBeginRequest(destination))
            {
                // A reload retired the upstream after this request read its snapshot; the live one takes the call.
                upstream = _runtime.Current.Upstreams.GetValueOrDefault(step.Service)
                    ?? throw new StepFailure(503, "no-healthy-upstream", $"Step '{step.Name}': service '{step.Service}' is no longer configured.");
                continue;
            }

            var failed = true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var limit = step.Config.Timeout ?? upstream.Config.Timeout;
            timeout.CancelAfter(limit);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Parse(step.Method), new Uri(destination.BaseAddress + target, in UriOptions))
                {
                    Version = upstream.RequestVersion,
                    VersionPolicy = upstream.VersionPolicy,
                };
                if (destination.HostHeader is { } host)
                {
                    request.Headers.Host = host;
                }

                AddHeaders(step, request, Eval, upstream.Credential);
                if (step.Body is { } bodyTemplate)
                {
                    request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(Eval(bodyTemplate)));
                    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                }

                using var response = await upstream.Invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                failed = status >= 500;
                if (status is < 200 or > 299)
                {
                    var answer = step.Config.StatusMap.TryGetValue(status, out var mapped) ? mapped : 502;
                    throw new StepFailure(answer, "composition-step-failed", $"Step '{step.Name}' ({step.Method} on service '{step.Service}') failed: the upstream answered {status}.", status);
                }

                var config = _model.Compiled.Config;
                var body = await JsonBodyReader.ReadAsync(response.Content, step.Name, config.MaxBodySize, config.MaxDepth, config.MaxItems, timeout.Token).ConfigureAwait(false);
                var headers = new JsonObject();
                if (step.ReadsHeaders)
                {
                    foreach (var (name, values) in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
                    {
                        headers[name.ToLowerInvariant()] = values.FirstOrDefault();
                    }
                }

                return new JsonObject { ["status"] = status, ["headers"] = headers, ["body"] = body };
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new StepFailure(504, "composition-step-timeout", $"Step '{step.Name}': service '{step.Service}' did not answer within {limit.TotalSeconds:0.###}s.");
            }
            catch (HttpRequestException)
            {
                throw new StepFailure(502, "composition-step-unreachable", $"Step '{step.Name}': service '{step.Service}' could not be reached.");
            }
            catch (StepFailure)
            {
                throw;
            }
            finally
            {
                upstream.EndRequest(destination, failed);
            }
        }
    }

    private void AddHeaders(CompiledStep step, HttpRequestMessage request, Func<Template, JsonNode?> eval, ServiceCredentialConfig? credential)
    {
        request.Headers.TryAddWithoutValidation(HeaderNames.Accept, "application/json");
        request.Headers.TryAddWithoutValidation("X-Request-Id", _requestId);
        foreach (var (name, t) in step.Headers)
        {
            if (eval(t) is { } v)
            {
                var text = Text(step, $"header '{name}'", v, FromRequest(t));
                if (text.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
                {
                    throw new StepFailure(400, "composition-bad-value", $"Step '{step.Name}': the value of header '{name}' contains CR, LF or NUL.");
                }

                request.Headers.TryAddWithoutValidation(name, text);
            }
        }

        // The call is the gateway's own: the consumer's credential stays here unless the step asks for it.
        if (step.Config.ForwardCredential && _snapshot.Access is { } access)
        {
            foreach (var header in new[] { access.KeyHeader, HeaderNames.Authorization })
            {
                if (_context.Request.Headers.TryGetValue(header, out var values) && values.Count == 1 && values[0]!.AsSpan().IndexOfAny('\r', '\n', '\0') < 0)
                {
                    request.Headers.TryAddWithoutValidation(header, values[0]);
                }
            }
        }

        if (_admission.Application is { } app)
        {
            request.Headers.TryAddWithoutValidation(Admission.ApplicationHeader, app.Id);
        }

        if (_admission.Plan is { } plan)
        {
            request.Headers.TryAddWithoutValidation(Admission.PlanHeader, plan.Name);
        }

        // The gateway's own credential for the service, in place of whatever a step or the client's credential put there.
        if (credential is not null)
        {
            request.Headers.Remove(credential.Header);
            request.Headers.TryAddWithoutValidation(credential.Header, credential.Value);
        }
    }

    private static bool FromRequest(Template t) => t is RefTemplate { Ref.Root: "request" };

    /// <summary>A scalar as text for a URL or header; anything else fails the step (400 when the client sent it).</summary>
    private static string Text(CompiledStep step, string what, JsonNode? value, bool fromRequest) => value switch
    {
        JsonValue v when v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False =>
            TemplateEvaluator.ScalarText(v) ?? v.ToJsonString(),
        _ => throw new StepFailure(fromRequest ? 400 : 502, "composition-bad-value",
            $"Step '{step.Name}': {what} has {(value is null ? "no value" : "a value that is not a string or number")}{(fromRequest ? " in the request" : "")}."),
    };
}
