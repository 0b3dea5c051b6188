using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Compositions;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// One request's run of a composition: every step starts as soon as the steps it references have finished
/// (tasks, no blocking); a required step's failure cancels the others; the deadline cancels whatever is outstanding.
/// </summary>
internal sealed partial class CompositionRun
{
    private readonly CompositionModel _model;
    private readonly HttpContext _context;
    private readonly GatewaySnapshot _snapshot;
    private readonly GatewayRuntime _runtime;
    private readonly RouteCaptures _captures;
    private readonly string _path;
    private readonly string _requestId;
    private readonly Admission _admission;
    private readonly StepResult?[] _results;
    private readonly Task[] _tasks;
    private readonly double[] _durations;
    private readonly bool[] _missing;
    // Whether each step got as far as making its call(s): Server-Timing marks the others as skipped.
    private readonly bool[] _ran;
    private readonly CancellationTokenSource _cts;
    private readonly List<JsonDocumentBody> _documents = [];

    // Step results borrow from pooled JsonDocuments, and a JsonDocument is not safe to read from two threads at once (it
    // caches the last string it decoded in a field written without synchronisation). Steps run concurrently and fan-out
    // calls continue on different threads, so every evaluation that reads step results while steps run holds this lock
    // (never across an await: evaluations are synchronous). It also guards _documents. The answer is written after every
    // step has finished, on one thread, without it.
    private readonly Lock _read = new();

    // When the run began: its deadline counts from here, and a service's deadlineHeader tells each call what is left.
    private readonly long _begun = Stopwatch.GetTimestamp();
    private readonly ElementRootResolver _roots;
    private StepFailure? _failure;
    private string? _failedStep;

    public CompositionRun(CompositionModel model, HttpContext context, GatewaySnapshot snapshot, GatewayRuntime runtime, RouteCaptures captures, string path, string requestId, Admission admission)
    {
        (_model, _context, _snapshot, _runtime, _captures, _path, _requestId, _admission) = (model, context, snapshot, runtime, captures, path, requestId, admission);
        _roots = Root;
        var n = model.Steps.Count;
        (_results, _tasks, _durations, _missing, _ran) = (new StepResult?[n], new Task[n], new double[n], new bool[n], new bool[n]);
        // A new source, not a pooled CallTimeout: Fail cancels it from whichever step fails first. Were a cancel ever to
        // come after the run had pooled it, it would reach another request's run; here it only meets a disposed source
        // (Fail catches that). One per request; the calls' own timeouts are the pooled ones.
        _cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (context.Features.Get<Observability.RequestObservation>() is { } observation)
        {
            observation.Steps = n;
        }

        _cts.CancelAfter(model.Compiled.Config.Deadline);
    }

    public async Task ExecuteAsync()
    {
        try
        {
            using (_cts)
            {
                for (var i = 0; i < _tasks.Length; i++)
                {
                    _tasks[i] = RunStepAsync(_model.Steps[i]);
                }

                await Task.WhenAll(_tasks).ConfigureAwait(false);
            }

            await AnswerAsync().ConfigureAwait(false);
        }
        finally
        {
            // Every step (and every call of a fan-out) has finished, and the answer, if any, is in the response's pipe:
            // nothing reads an element of these documents any more.
            foreach (var document in _documents)
            {
                document.Dispose();
            }

            _documents.Clear();
        }
    }

    private async Task AnswerAsync()
    {
        if (_context.RequestAborted.IsCancellationRequested)
        {
            CompositionMetrics.Request(_model.Id, CompositionMetrics.Outcome.Aborted);
            return;
        }

        var headers = new List<KeyValuePair<string, string>>();
        if (_model.Compiled.Config.ServerTiming || _admission.Plan?.ServerTiming == true)
        {
            var timing = new StringBuilder(24 * _model.Steps.Count);
            foreach (var s in _model.Steps)
            {
                timing.Append(timing.Length == 0 ? "" : ", ");
                if (_ran[s.Index])
                {
                    timing.Append(CultureInfo.InvariantCulture, $"{s.Name};dur={_durations[s.Index]:0.#}");
                }
                else
                {
                    // Cancelled before its call (another step failed first, or a step it needs is missing): no duration to show.
                    timing.Append(s.Name).Append(";desc=\"skipped\"");
                }
            }

            headers.Add(new("Server-Timing", timing.ToString()));
        }

        if (_failure is { } f)
        {
            CompositionMetrics.Request(_model.Id, f.Slug == DeadlineSlug ? CompositionMetrics.Outcome.Deadline : CompositionMetrics.Outcome.StepFailed);
            await ProblemWriter.WriteAsync(_context, f.Status, f.Slug, "Composition step failed", f.Detail, _requestId, [.. headers]).ConfigureAwait(false);
            return;
        }

        if (Array.IndexOf(_missing, true) >= 0)
        {
            headers.Add(new("Gatehouse-Missing-Steps", string.Join(", ", _model.Steps.Where(s => _missing[s.Index]).Select(s => s.Name))));
        }

        // Shaped and written before anything of the response is set, so a template that fails midway still answers 502.
        // Every step has finished: nothing else reads the documents now, so no lock.
        ArrayBufferWriter<byte> json;
        try
        {
            json = SerializedBuffer(new ElementEvaluator(_roots), _model.Compiled.Response);
        }
        catch (InvalidOperationException e)
        {
            // The thread's buffer may hold part of an answer: never copied out, and reset by its next use.
            ReleaseSerializedBuffer();
            CompositionMetrics.Request(_model.Id, CompositionMetrics.Outcome.ShapeFailed);
            await ProblemWriter.WriteAsync(_context, 502, "composition-shape-failed", "Composition shaping failed",
                $"The response could not be shaped from the backends' values: {e.Message}", _requestId, [.. headers]).ConfigureAwait(false);
            return;
        }

        CompositionMetrics.Request(_model.Id, CompositionMetrics.Outcome.Ok);
        var response = _context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        response.Headers["X-Request-Id"] = _requestId;
        foreach (var (name, value) in headers)
        {
            response.Headers[name] = value;
        }

        LimitHeadersWrite();
        response.ContentLength = json.WrittenCount;
        if (!HttpMethods.IsHead(_context.Request.Method))
        {
            // Copied into the response's pipe before the first await, so the thread's buffer is free again after.
            response.BodyWriter.Write(json.WrittenSpan);
        }

        ReleaseSerializedBuffer();
        await response.BodyWriter.FlushAsync(_context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The answer as JSON in this thread's reusable buffer, written by the evaluator straight to the thread's writer (no
    /// per-answer writer, tree or result array). The caller copies it out before it awaits anything, then releases it.
    /// Throws <see cref="InvalidOperationException"/> for an answer nested deeper than the writer allows.
    /// </summary>
    private static ArrayBufferWriter<byte> SerializedBuffer(ElementEvaluator evaluator, Template response)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        evaluator.Write(response, writer);
        writer.Flush();
        return buffer;
    }

    private static void ReleaseSerializedBuffer()
    {
        // A rare huge answer (or a failed one that grew the buffer) does not stay pinned to the thread.
        if (t_buffer is { Capacity: > 256 * 1024 })
        {
            (t_buffer, t_writer) = (null, null);
        }
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private const string DeadlineSlug = "composition-deadline";

    private void LimitHeadersWrite() => Limiting.LimitHeaders.Write(_context.Response, _admission.Limits);

    private async Task RunStepAsync(CompiledStep step)
    {
        var dependencies = step.Dependencies;
        for (var i = 0; i < dependencies.Count; i++)
        {
            await _tasks[dependencies[i]].ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        using var span = Observability.GatewayTracing.StartStep(_model.Id, step.Name);
        try
        {
            if (_cts.IsCancellationRequested)
            {
                throw new OperationCanceledException();
            }

            for (var i = 0; i < dependencies.Count; i++)
            {
                var m = dependencies[i];
                if (_missing[m])
                {
                    throw new StepFailure(502, "composition-step-missing", $"Step '{step.Name}' needs step '{_model.Steps[m].Name}', which is optional and failed.");
                }
            }

            _ran[step.Index] = true;
            var result = step.ForEach is null
                ? await CallAsync(step, ElementValue.Null, _cts.Token).ConfigureAwait(false)
                : await FanOutAsync(step).ConfigureAwait(false);
            bool empty;
            lock (_read)
            {
                empty = step.Config.WhenEmpty is not null && IsEmpty(result.Body);
            }

            if (empty)
            {
                var emptyStatus = step.Config.WhenEmpty!.Value;
                throw new StepFailure(emptyStatus, "composition-step-empty", $"Step '{step.Name}' ({step.Method} on service '{step.Service}') answered with nothing (no body, null, an empty list or an empty object).");
            }

            _results[step.Index] = result;
        }
        catch (StepFailure f)
        {
            span?.SetStatus(ActivityStatusCode.Error, f.Slug);
            Fail(step, f);
        }
        catch (OperationCanceledException)
        {
            Fail(step, new StepFailure(504, DeadlineSlug, $"Step '{step.Name}' did not finish within the composition's deadline of {_model.Compiled.Config.Deadline.TotalSeconds:0.###}s."));
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            _durations[step.Index] = elapsed.TotalMilliseconds;
            CompositionMetrics.Step(_model.Id, step.Name, elapsed);
        }
    }

    private static bool IsEmpty(ElementValue body)
    {
        if (body.IsNull)
        {
            return true;
        }

        if (body.IsArray)
        {
            foreach (var _ in body.EnumerateItems())
            {
                return false;
            }

            return true;
        }

        if (body.IsObject)
        {
            foreach (var _ in body.EnumerateFields())
            {
                return false;
            }

            return true;
        }

        return false;
    }

    private void Fail(CompiledStep step, StepFailure failure)
    {
        if (step.Config.Optional)
        {
            _missing[step.Index] = true;
            CompositionMetrics.Missing(_model.Id, step.Name);
            return;
        }

        // The first required failure is the answer; it cancels every call still outstanding.
        if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
        {
            _failedStep = step.Name;
            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>The failed step's name, for logs and tests.</summary>
    public string? FailedStep => _failedStep;

    /// <summary>
    /// Where a reference starts: a step gives the part its first segment names, its body, status or headers (consuming
    /// that segment; null when the step is missing or failed), a request value is looked up whole (consuming every
    /// segment) and is a string or null.
    /// </summary>
    private ElementValue Root(ValueRef r, out int consumed)
    {
        consumed = 0;
        if (r.Root != "request")
        {
            if (!_model.StepIndex.TryGetValue(r.Root, out var i) || _results[i] is not { } result)
            {
                return ElementValue.Null;
            }

            // A compiled reference to a step goes on with its body, status or headers (TemplateCompiler makes a bare
            // '@step' its body): that part is where the reference starts.
            consumed = 1;
            return r.Segments[0].Name switch
            {
                "body" => result.Body,
                "status" => result.StatusValue,
                "headers" => ElementValue.Fields(result.Headers),
                _ => throw new UnreachableException($"'{r.Text}' was compiled without body, status or headers after the step."),
            };
        }

        consumed = r.Segments.Count;
        var request = _context.Request;
        switch (r.Segments[0].Name)
        {
            case "path":
                var at = Array.IndexOf(_model.RouteParameters, r.Segments[1].Name);
                return at >= 0 && at < _captures.Count ? ElementValue.String(_path[_captures[at]]) : ElementValue.Null;
            case "query":
                return request.Query.TryGetValue(r.Segments[1].Name, out var q) && q.Count > 0 ? Text(q[0]) : ElementValue.Null;
            case "headers":
                return request.Headers.TryGetValue(r.Segments[1].Name, out var h) && h.Count > 0 ? Text(h[0]) : ElementValue.Null;
            case "application":
                return _admission.Application is { } app ? ElementValue.String(app.Id) : ElementValue.Null;
            case "id":
                return ElementValue.String(_requestId);
            default:
                return _admission.Plan is { } plan ? ElementValue.String(plan.Name) : ElementValue.Null;
        }

        // JsonValue.Create(null) was null: a null string stays null.
        static ElementValue Text(string? text) => text is null ? ElementValue.Null : ElementValue.String(text);
    }
}
