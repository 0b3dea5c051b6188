using System.Diagnostics.Metrics;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// A route's <c>mirror</c>: copies of a share of its requests sent to another service and forgotten. The copy is
/// built on the request path (its headers are read from the client's request, which is not kept) and sent off it, in
/// at most <see cref="MirrorConfig.MaxConcurrent"/> copies at once; past that a copy is dropped and counted, never
/// waited for. Its answer is read to the end (so the connection is reused) and dropped; its failures count in the
/// mirror service's passive health like any request's, and never reach the client.
/// </summary>
internal sealed partial class RequestMirror(string routeId, Upstream upstream, MirrorConfig config, TimeProvider time, ILogger logger)
{
    /// <summary>The header a copy carries, with the route's id: the mirror service can tell copies from its own traffic.</summary>
    public const string Header = "Gatehouse-Mirror";

    private static readonly Counter<long> Copies = Observability.GatewayMetrics.Instance.CreateCounter<long>("gatehouse.mirror.requests", "{request}",
        "Copies of requests for a route's mirror, by route and outcome: sent (answered, any status), failed (no answer), dropped (maxConcurrent in flight), skipped (reason: body, a body it does not copy; destination, none available; request, the request failed before it was sent)");

    private int _inFlight;

    public Upstream Upstream => upstream;

    public long MaxBodySize => config.MaxBodySize;

    /// <summary>Whether this request is one of the share copied.</summary>
    public bool Sample() => config.Percent >= 100 || (config.Percent > 0 && Random.Shared.Next(100) < config.Percent);

    /// <summary>Counts a request of the share that is not copied (<paramref name="reason"/>: body, destination).</summary>
    public void Skip(string reason) => Count("skipped", reason);

    /// <summary>
    /// Takes a slot and a destination for one copy; false when every slot is in use (dropped) or the service has no
    /// destination to take it (skipped). Each true is followed by one <see cref="Send"/>.
    /// </summary>
    public bool TryBegin(out Destination? destination)
    {
        destination = null;
        if (Interlocked.Increment(ref _inFlight) > config.MaxConcurrent)
        {
            Interlocked.Decrement(ref _inFlight);
            Count("dropped", null);
            return false;
        }

        if (upstream.Pick() is not { } picked || !upstream.TryBeginRequest(picked))
        {
            Interlocked.Decrement(ref _inFlight);
            Skip("destination");
            return false;
        }

        destination = picked;
        return true;
    }

    /// <summary>Sends <paramref name="copy"/> to <paramref name="destination"/> in the background and forgets it.</summary>
    public void Send(HttpRequestMessage copy, Destination destination) => _ = SendAsync(copy, destination);

    private async Task SendAsync(HttpRequestMessage copy, Destination destination)
    {
        var failed = true;
        try
        {
            // Off the request path from here: the client's answer does not wait for the copy.
            await Task.Yield();
            using var timeout = new CancellationTokenSource(upstream.Config.Timeout, time);
            using var response = await upstream.Invoker.SendAsync(copy, timeout.Token).ConfigureAwait(false);
            await response.Content.CopyToAsync(Stream.Null, timeout.Token).ConfigureAwait(false);
            failed = (int)response.StatusCode >= 500;
            Count("sent", null);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            Count("failed", null);
            LogFailed(logger, routeId, upstream.Name, e.Message);
        }
        finally
        {
            copy.Dispose();
            upstream.EndRequest(destination, failed);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Gives back a slot <see cref="TryBegin"/> took when the copy is not sent after all (the request ended first).</summary>
    public void Release(Destination destination)
    {
        upstream.EndRequest(destination, UpstreamOutcome.NotJudged);
        Interlocked.Decrement(ref _inFlight);
        Skip("request");
    }

    private void Count(string outcome, string? reason)
    {
        var tags = new System.Diagnostics.TagList { { "route", routeId }, { "outcome", outcome } };
        if (reason is not null)
        {
            tags.Add("reason", reason);
        }

        Copies.Add(1, tags);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Route {Route}: the copy for its mirror service {Service} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string route, string service, string reason);
}
