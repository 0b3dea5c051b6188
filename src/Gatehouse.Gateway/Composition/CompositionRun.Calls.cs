using System.Diagnostics;
using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Composition;

/// <summary>How a step's call is made: URL from encoded values only, the gateway's own headers, bounded body reading.</summary>
internal sealed partial class CompositionRun
{
    private static readonly UriCreationOptions UriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private async Task<StepResult> FanOutAsync(CompiledStep step)
    {
        var found = new List<ElementValue>();
        DistinctItems distinct;
        lock (_read)
        {
            new ElementEvaluator(_roots).ResolveMany(step.ForEach!, found);
            if (!step.ForEach!.HasWildcard && found is [{ IsArray: true } array])
            {
                found = [.. array.EnumerateItems()];
            }
            else if (!step.ForEach.HasWildcard && found is [{ IsNull: true }])
            {
                found = [];
            }

            // Identical items make identical calls: each distinct value is called once.
            distinct = DistinctItems.Of(found);
        }

        var (items, keys) = (distinct.Items, distinct.Keys);
        var max = step.Config.MaxItems ?? _model.Compiled.Config.MaxItems;
        if (items.Count > max)
        {
            throw new StepFailure(502, "composition-too-many-items", $"Step '{step.Name}' would run for {items.Count} items, over the limit of {max} (maxItems).");
        }

        if (step.Config.Batch is { } batch)
        {
            if (items.Count == 0)
            {
                return new StepResult(null, [], ElementValue.List([]));
            }

            var extra = new StringBuilder(Uri.EscapeDataString(batch.Param)).Append('=');
            lock (_read)
            {
                for (var i = 0; i < items.Count; i++)
                {
                    // A scalar's key is its text; anything else has none, and Text says so.
                    var item = items[i];
                    var text = item.IsNull || item.IsObject || item.IsArray ? Text(step, "batch", item, fromRequest: false) : keys[i];
                    extra.Append(i == 0 ? "" : batch.Separator).Append(Uri.EscapeDataString(text));
                }
            }

            var called = await CallAsync(step, ElementValue.Null, _cts.Token, extra).ConfigureAwait(false);
            List<ElementValue> ordered;
            lock (_read)
            {
                if (!called.Body.IsArray)
                {
                    throw new StepFailure(502, "composition-batch-not-array", $"Step '{step.Name}': the batched call did not return a JSON array.");
                }

                // The returned elements the items name, in the items' order; batch.missing says what a missing one does.
                ordered = distinct.InItemsOrder(called.Body, batch.Key, keepNulls: batch.Missing == BatchMissing.Null, out var missing);
                if (missing.Count > 0)
                {
                    CompositionMetrics.ItemsMissing(_model.Id, step.Name, missing.Count);
                    if (batch.Missing == BatchMissing.Fail)
                    {
                        var shown = string.Join(", ", missing.Take(5).Select(k => $"'{k}'"));
                        var more = missing.Count > 5 ? $" and {missing.Count - 5} more" : "";
                        throw new StepFailure(step.Config.StatusMap.TryGetValue(404, out var mapped) ? mapped : 502, "composition-batch-incomplete",
                            $"Step '{step.Name}': the batched call returned nothing for {(missing.Count == 1 ? "item" : "items")} {shown}{more}.", 404);
                    }
                }
            }

            return new StepResult(called.Status, called.Headers, ElementValue.List(ordered));
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
            var results = await Task.WhenAll(calls).ConfigureAwait(false);
            var bodies = new List<ElementValue>(results.Length);
            foreach (var r in results)
            {
                bodies.Add(r.Body);
            }

            return new StepResult(200, [], ElementValue.List(bodies));
        }
        catch (Exception) when (calls.FirstOrDefault(c => c.IsFaulted && c.Exception!.InnerException is StepFailure) is { } failed)
        {
            throw failed.Exception!.InnerException!;
        }
    }

    private async Task<StepResult> CallAsync(CompiledStep step, ElementValue item, CancellationToken ct, StringBuilder? extraQuery = null)
    {
        // A fan-out's calls (a batched one too) see their item as @item; a plain step has none.
        var evaluator = new ElementEvaluator(_roots);
        var binding = step.ForEach is null ? null : "item";

        var target = new StringBuilder(64);
        lock (_read)
        {
            // The path: literal segments from the config, every value exactly one percent-encoded segment.
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
                    target.Append(UpstreamPathTemplate.EncodeSegment(Text(step, $"parameter '{segment.Value}'", evaluator.Evaluate(t, binding, item), FromRequest(t))));
                }
            }

            if (step.Path.Segments.Count == 0)
            {
                target.Append('/');
            }

            var separator = '?';
            foreach (var (name, t) in step.Query)
            {
                var value = evaluator.Evaluate(t, binding, item);
                if (value.IsArray)
                {
                    foreach (var v in value.EnumerateItems())
                    {
                        AppendQuery(v, name, t);
                    }
                }
                else
                {
                    AppendQuery(value, name, t);
                }
            }

            if (extraQuery is not null)
            {
                target.Append(separator).Append(extraQuery);
            }

            void AppendQuery(ElementValue v, string name, Template t)
            {
                if (v.IsNull)
                {
                    return;
                }

                target.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(Text(step, $"query '{name}'", v, FromRequest(t))));
                separator = '&';
            }
        }

        var upstream = _snapshot.Upstreams[step.Service];
        while (true)
        {
            // loadBalancing: hash keys a step's call by the client's request, as it keys a proxied one.
            var destination = upstream.Pick(LoadBalancing.RequestHashKey.For(upstream, _context, _snapshot, _path, _admission))
                ?? throw new StepFailure(503, "no-healthy-upstream", $"Step '{step.Name}': service '{step.Service}' has no healthy target right now; try again shortly.");
            if (!upstream.TryBeginRequest(destination))
            {
                // A reload retired the upstream after this request read its snapshot; the live one takes the call.
                upstream = _runtime.Current.Upstreams.GetValueOrDefault(step.Service)
                    ?? throw new StepFailure(503, "no-healthy-upstream", $"Step '{step.Name}': service '{step.Service}' is no longer configured.");
                continue;
            }

            var outcome = UpstreamOutcome.NotJudged;
            System.Diagnostics.Activity? span = null;
            var answered = 0;
            string? failure = null;
            // The call's own timer only when it can fire before the run's deadline, which the run's token carries (by
            // default 30 s against 10 s, so most calls need none); when it can, a pooled one.
            var limit = step.Config.Timeout ?? upstream.Config.Timeout;
            using var timeout = limit < _model.Compiled.Config.Deadline ? CallTimeout.Start(limit, ct) : default;
            var token = timeout.Token(ct);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Parse(step.Method), new Uri(Url(destination.BaseAddress, target), in UriOptions))
                {
                    Version = upstream.RequestVersion,
                    VersionPolicy = upstream.VersionPolicy,
                };
                if (destination.HostHeader is { } host)
                {
                    request.Headers.Host = host;
                }

                AddHeaders(step, request, evaluator, binding, item, upstream.Credential);
                if (upstream.Config.DeadlineHeader is { } deadlineHeader)
                {
                    // The same deadline mechanism as a proxied request: the time left of the run, or of the call when sooner.
                    var left = _model.Compiled.Config.Deadline - Stopwatch.GetElapsedTime(_begun);
                    left = limit < left ? limit : left;
                    request.Headers.TryAddWithoutValidation(deadlineHeader, ((long)Math.Max(0, left.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                if (step.Body is { } bodyTemplate)
                {
                    request.Content = new ByteArrayContent(RequestBody(bodyTemplate, evaluator, binding, item));
                    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                }

                // As for a proxied request's attempt: a client span under the step's span, and the trace's context for the
                // service, so that the services behind a composition join the client's trace.
                if (Observability.GatewayTracing.Source.HasListeners() && _context.Features.Get<Observability.RequestObservation>() is { } observation && observation.Trace != default)
                {
                    span = Observability.GatewayTracing.StartClient(step.Method, destination, step.Service, request.RequestUri!.PathAndQuery,
                        _snapshot.Access?.KeyQueryParameter ?? _snapshot.Config.Gateway.ApiKeys.QueryParameter);
                    var trace = span?.Context ?? System.Diagnostics.Activity.Current?.Context ?? observation.Trace;
                    request.Headers.TryAddWithoutValidation("traceparent", Observability.GatewayTracing.Traceparent(trace));
                    if (trace.TraceState is { Length: > 0 } state)
                    {
                        request.Headers.TryAddWithoutValidation("tracestate", state);
                    }
                }

                using var response = await upstream.Invoker.SendAsync(request, token).ConfigureAwait(false);
                var status = answered = (int)response.StatusCode;
                outcome = status >= 500 ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded;
                if (status is < 200 or > 299)
                {
                    var answer = step.Config.StatusMap.TryGetValue(status, out var mapped) ? mapped : 502;
                    throw new StepFailure(answer, "composition-step-failed", $"Step '{step.Name}' ({step.Method} on service '{step.Service}') failed: the upstream answered {status}.", status);
                }

                var config = _model.Compiled.Config;
                var body = await JsonDocumentBodyReader.ReadAsync(response.Content, step.Name, config.MaxBodySize, config.MaxDepth, config.MaxItems, token).ConfigureAwait(false);
                if (body is not null)
                {
                    // The run owns it from here, whatever happens to this step: disposed once, when the run is done.
                    lock (_read)
                    {
                        _documents.Add(body);
                    }
                }

                List<KeyValuePair<string, ElementValue>> headers = [];
                if (step.ReadsHeaders)
                {
                    foreach (var (name, values) in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
                    {
                        ElementValue.Set(headers, name.ToLowerInvariant(), values.FirstOrDefault() is { } first ? ElementValue.String(first) : ElementValue.Null);
                    }
                }

                return new StepResult(status, headers, body is null ? ElementValue.Null : ElementValue.Of(body.Root));
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                outcome = UpstreamOutcome.Failed;
                failure = "timeout";
                throw new StepFailure(504, "composition-step-timeout", $"Step '{step.Name}': service '{step.Service}' did not answer within {limit.TotalSeconds:0.###}s.");
            }
            catch (OperationCanceledException) when (outcome == UpstreamOutcome.NotJudged && !_context.RequestAborted.IsCancellationRequested)
            {
                // The run's deadline ended the call while the upstream was still answering: as slow as a timeout.
                outcome = UpstreamOutcome.Failed;
                failure = "timeout";
                throw;
            }
            catch (HttpRequestException e)
            {
                // Only the upstream's own failures count against its health (issue 16, F2).
                outcome = UpstreamFaults.Judge(e);
                failure = "connection_error";
                throw new StepFailure(502, "composition-step-unreachable", $"Step '{step.Name}': service '{step.Service}' could not be reached.");
            }
            catch (StepFailure)
            {
                throw;
            }
            finally
            {
                upstream.EndRequest(destination, outcome);
                if (span is not null)
                {
                    Observability.GatewayTracing.StopClient(span, answered, answered == 0 ? failure ?? "canceled" : null);
                }
            }
        }
    }

    private void AddHeaders(CompiledStep step, HttpRequestMessage request, ElementEvaluator evaluator, string? binding, ElementValue item, ServiceCredentialConfig? credential)
    {
        request.Headers.TryAddWithoutValidation(HeaderNames.Accept, "application/json");
        request.Headers.TryAddWithoutValidation("X-Request-Id", _requestId);
        lock (_read)
        {
            foreach (var (name, t) in step.Headers)
            {
                if (evaluator.Evaluate(t, binding, item) is { IsNull: false } v)
                {
                    var text = Text(step, $"header '{name}'", v, FromRequest(t));
                    if (!HeaderRules.IsSafeValue(text))
                    {
                        throw new StepFailure(400, "composition-bad-value", $"Step '{step.Name}': the value of header '{name}' has a character other than tab, space and visible ASCII (a control character, DEL or a non-ASCII character).");
                    }

                    request.Headers.TryAddWithoutValidation(name, text);
                }
            }
        }

        // The call is the gateway's own: the consumer's credential stays here unless the step asks for it.
        if (step.Config.ForwardCredential && _snapshot.Access is { } access)
        {
            foreach (var header in new[] { access.KeyHeader, HeaderNames.Authorization })
            {
                if (_context.Request.Headers.TryGetValue(header, out var values) && values.Count == 1 && HeaderRules.IsSafeValue(values[0]))
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

    /// <summary>
    /// A step's request body, written from its template as JSON. The writer allows the depth
    /// <see cref="JsonSerializer"/> allows (64), as when the body was a tree serialized with it.
    /// </summary>
    private byte[] RequestBody(Template template, ElementEvaluator evaluator, string? name, ElementValue item)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        lock (_read)
        {
            using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = 64 });
            evaluator.Write(template, writer, name, item);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static bool FromRequest(Template t) => t is RefTemplate { Ref.Root: "request" };

    /// <summary>The destination's base address and the path and query built, as one string (no insert that grows the builder).</summary>
    private static string Url(string baseAddress, StringBuilder pathAndQuery) =>
        string.Create(baseAddress.Length + pathAndQuery.Length, (baseAddress, pathAndQuery), static (url, parts) =>
        {
            parts.baseAddress.CopyTo(url);
            parts.pathAndQuery.CopyTo(0, url[parts.baseAddress.Length..], parts.pathAndQuery.Length);
        });

    /// <summary>A scalar as text for a URL or header; anything else fails the step (400 when the client sent it).</summary>
    private static string Text(CompiledStep step, string what, ElementValue value, bool fromRequest) =>
        value.ScalarText() ?? throw new StepFailure(fromRequest ? 400 : 502, "composition-bad-value",
            $"Step '{step.Name}': {what} has {(value.IsNull ? "no value" : "a value that is not a string or number")}{(fromRequest ? " in the request" : "")}.");

    /// <summary>
    /// A fan-out's distinct items (the first of each <see cref="ElementValue.Key"/>) and their keys. A key becomes a
    /// string only for the first item that has it: short scalars (ids, mostly) are compared as chars on the stack.
    /// </summary>
    private sealed class DistinctItems
    {
        private readonly Dictionary<string, int> _positions;

        private DistinctItems(List<ElementValue> items) => (Items, Keys, _positions) = (items, new(items.Count), new(items.Count, StringComparer.Ordinal));

        public List<ElementValue> Items { get; }

        public List<string> Keys { get; }

        /// <summary>The distinct items of <paramref name="found"/>, which becomes their list (repeats removed in place).</summary>
        public static DistinctItems Of(List<ElementValue> found)
        {
            var distinct = new DistinctItems(found);
            var byChars = distinct._positions.GetAlternateLookup<ReadOnlySpan<char>>();
            Span<char> scratch = stackalloc char[ElementValue.KeyScratchLength];
            var kept = 0;
            for (var i = 0; i < found.Count; i++)
            {
                var item = found[i];
                var chars = item.KeyChars(scratch);
                if (byChars.ContainsKey(chars))
                {
                    continue;
                }

                // (A long or escaped key, which KeyChars made a string of, is copied once more: rare.)
                var key = new string(chars);
                distinct._positions.Add(key, kept);
                distinct.Keys.Add(key);
                found[kept++] = item;
            }

            found.RemoveRange(kept, found.Count - kept);
            return distinct;
        }

        /// <summary>
        /// For each item, the first object of <paramref name="returned"/> whose <paramref name="keyField"/> has the
        /// item's key, in the items' order; items nothing was returned for are left out, or null when
        /// <paramref name="keepNulls"/>. Their keys are in <paramref name="missing"/>.
        /// </summary>
        public List<ElementValue> InItemsOrder(ElementValue returned, string keyField, bool keepNulls, out List<string> missing)
        {
            // A slot per item, filled where an object answers it, then closed up in place.
            var ordered = new List<ElementValue>(Items.Count);
            CollectionsMarshal.SetCount(ordered, Items.Count);
            var slots = CollectionsMarshal.AsSpan(ordered);
            var byChars = _positions.GetAlternateLookup<ReadOnlySpan<char>>();
            Span<char> scratch = stackalloc char[ElementValue.KeyScratchLength];
            foreach (var element in returned.EnumerateItems())
            {
                // An object is never null, so a slot that is null is one nothing filled yet.
                if (element.IsObject && element.TryGetField(keyField, out var key)
                    && byChars.TryGetValue(key.KeyChars(scratch), out var at)
                    && slots[at].IsNull)
                {
                    slots[at] = element;
                }
            }

            missing = [];
            for (var i = 0; i < slots.Length; i++)
            {
                if (slots[i].IsNull)
                {
                    missing.Add(Keys[i]);
                }
            }

            if (keepNulls || missing.Count == 0)
            {
                return ordered;
            }

            var filled = 0;
            foreach (var slot in slots)
            {
                if (!slot.IsNull)
                {
                    slots[filled++] = slot;
                }
            }

            CollectionsMarshal.SetCount(ordered, filled);
            return ordered;
        }
    }
}
