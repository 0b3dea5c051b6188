using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Resilience;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Retries: whether a failed attempt is tried again, and on which destination. Written here rather than with Polly's
/// retry strategy: each attempt goes to another destination, spends a budget shared by the service, replays a body
/// buffered once, and is bounded by the request's deadline; and the attempt that succeeds, nearly every one, must
/// cost no more than a request without retries (Polly's pipeline rents a context and runs the attempt as a callback).
/// See docs/resilience.md.
/// </summary>
internal sealed partial class HttpForwarder
{
    /// <summary>The response header that says how many attempts a request took, when more than one.</summary>
    internal const string AttemptsHeader = "Gatehouse-Attempts";

    private static readonly string[] AttemptTexts = [.. Enumerable.Range(0, 16).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static string AttemptsText(int attempts) => attempts < AttemptTexts.Length ? AttemptTexts[attempts] : attempts.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The retry condition a send failure meets, or null when the route does not retry it.</summary>
    private static string? RetryReason(RetryPolicy retry, Exception e, bool perTryExpired)
    {
        if (perTryExpired)
        {
            return retry.Timeout ? RetryReasons.Timeout : null;
        }

        if (e is OperationCanceledException)
        {
            return null; // the request's deadline: nothing is left for another attempt
        }

        if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
        {
            return retry.ConnectFailure ? RetryReasons.ConnectFailure : null;
        }

        return retry.Reset && UpstreamFaults.Judge(e) == UpstreamOutcome.Failed ? RetryReasons.Reset : null;
    }

    /// <summary>
    /// Decides whether attempt <paramref name="attempt"/> (0-based), which failed for <paramref name="reason"/>, is
    /// retried. When it is: takes budget, begins the request on the next destination (another one when there is one),
    /// ends it on the failed one with <paramref name="outcome"/>, waits the back-off, and returns the next destination.
    /// When not, changes nothing and returns null; the reason is logged at Debug.
    /// </summary>
    /// <param name="reached">False when the attempt certainly never reached the upstream (always safe to repeat).</param>
    /// <param name="replayable">The body can be sent again (none, buffered, or never started).</param>
    private async ValueTask<Destination?> PrepareRetryAsync(HttpContext context, RouteModel route, RetryPolicy retry, Destination destination, int attempt,
        string reason, bool reached, bool replayable, UpstreamOutcome outcome, HttpResponseMessage? response, long started, bool retried, CancellationToken deadline)
    {
        var upstream = route.Upstream!;
        string? refusal = null;
        var delay = TimeSpan.Zero;
        if (attempt + 1 >= retry.Attempts)
        {
            refusal = "no attempts left";
        }
        else if (reached && !retry.MayRepeat(context.Request.Method))
        {
            refusal = $"{context.Request.Method} is not idempotent (retry.nonIdempotent is off)";
        }
        else if (!replayable)
        {
            refusal = "the body was streamed, not buffered (no Content-Length, or over retry.maxBodySize)";
        }
        else
        {
            if (response?.Headers.RetryAfter is { } retryAfter)
            {
                delay = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - _time.GetUtcNow() : TimeSpan.Zero);
                if (delay < TimeSpan.Zero)
                {
                    delay = TimeSpan.Zero;
                }

                if (delay > retry.MaxRetryAfter)
                {
                    refusal = $"Retry-After {delay.TotalSeconds:0.###}s is over retry.maxRetryAfter";
                }
            }
            else
            {
                delay = retry.NextBackOff(attempt + 1);
            }

            if (refusal is null && delay >= route.Timeout - _time.GetElapsedTime(started))
            {
                refusal = "the deadline would pass before the retry";
            }
        }

        var holding = attempt > 0 && retried;
        if (refusal is null && !upstream.RetryBudget.TryAcquire(upstream.InFlight, holding))
        {
            refusal = "the service's retry budget is spent";
            ResilienceMetrics.Refused(upstream.Name);
        }

        if (refusal is not null)
        {
            NotRetried(context, reason, refusal);
            LogNotRetried(logger, route.Id, destination.ToString(), reason, refusal);
            return null;
        }

        if (NextDestination(upstream, destination) is not { } next)
        {
            // Not made after all: the request keeps holding the slot it held before, if any (released when it ends).
            upstream.RetryBudget.Release(!holding);
            NotRetried(context, reason, "no destination is available");
            LogNotRetried(logger, route.Id, destination.ToString(), reason, "no destination is available");
            return null;
        }

        upstream.EndRequest(destination, outcome);
        ResilienceMetrics.Retry(upstream.Name, reason);
        if (context.Features.Get<Observability.RequestObservation>() is { } observation)
        {
            observation.Retries = observation.Retries is null ? reason : observation.Retries + "," + reason;
        }

        LogRetry(logger, route.Id, attempt + 1, destination.ToString(), reason, next.ToString(), delay);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, _time, deadline).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The deadline (or the client) ended the wait; the next send sees the cancelled token and answers for it.
            }
        }

        return next;
    }

    /// <summary>Begins the request on another available destination, or on the same one when it is the only one; null when none is.</summary>
    private static Destination? NextDestination(Upstream upstream, Destination failed)
    {
        var destinations = upstream.Destinations;
        for (var i = 0; i < destinations.Length; i++)
        {
            var next = upstream.Pick();
            if (next is null)
            {
                break;
            }

            if (!ReferenceEquals(next, failed))
            {
                if (upstream.TryBeginRequest(next))
                {
                    return next;
                }

                next.ReleaseProbe();
                return null;
            }
        }

        return failed.IsAvailable(0) && upstream.TryBeginRequest(failed) ? failed : null;
    }

    /// <summary>Reads a body of <paramref name="length"/> bytes into <paramref name="buffer"/>; false when it answered the client's failure.</summary>
    private static async ValueTask<bool> ReadBodyAsync(HttpContext context, byte[] buffer, int length, string requestId)
    {
        try
        {
            var read = 0;
            while (read < length)
            {
                var n = await context.Request.Body.ReadAsync(buffer.AsMemory(read, length - read), context.RequestAborted).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            if (read == length)
            {
                return true;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
            return false;
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException)
        {
            // Answered below.
        }

        await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-body", "Bad request body",
            "The request body could not be read; check its framing (Content-Length or chunked encoding).", requestId).ConfigureAwait(false);
        return false;
    }

    // For the access log: only when something records requests (the feature is set then), and only on this rare path.
    private static void NotRetried(HttpContext context, string reason, string refusal)
    {
        // "no attempts left" is the ordinary end of a retried request, not a refusal worth a field.
        if (refusal != "no attempts left" && context.Features.Get<Observability.RequestObservation>() is { } observation)
        {
            observation.NotRetried = reason + ": " + refusal;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Route {Route}: attempt {Attempt} to {Destination} failed ({Reason}); retrying on {Next} after {Delay}")]
    private static partial void LogRetry(ILogger logger, string route, int attempt, string destination, string reason, string next, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Route {Route}: attempt to {Destination} failed ({Reason}), not retried: {Refusal}")]
    private static partial void LogNotRetried(ILogger logger, string route, string destination, string reason, string refusal);
}
