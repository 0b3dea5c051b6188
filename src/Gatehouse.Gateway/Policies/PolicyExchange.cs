using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Policies;

/// <summary>
/// One request's run through its route's policies: what the stages decided on the way in (admission, cache key, a
/// stale answer to fall back on), and the two places the forwarder hands over to them: when the upstream request's
/// headers are built (<see cref="OnRequestHeaders"/>), and when the response's headers are copied
/// (<see cref="OnResponseHeaders"/>). Made only for a route that has policies.
/// </summary>
internal sealed class PolicyExchange(RoutePolicies policies, HttpContext context, RouteCaptures captures, string path, string requestId)
{
    private IHttpResponseBodyFeature? _originalBody;
    private PolicyResponseBody? _body;
    private PendingEntry? _pending;
    private bool _reshape;
    private bool _checkResponse;

    public RoutePolicies Policies => policies;

    public HttpContext Context => context;

    public RouteCaptures Captures => captures;

    public string Path => path;

    public string RequestId => requestId;

    public Admission Admission { get; set; }

    /// <summary>The cache's key of this request and what it held; its key is null when the request is not cached.</summary>
    public CacheLookup CacheLookup { get; set; }

    /// <summary>A stale answer to serve instead if the service fails; null when there is none.</summary>
    public CachedResponse? Fallback { get; set; }

    /// <summary>The key whose refresh this request claimed; released when it completes.</summary>
    public string? Refreshing { get; set; }

    /// <summary><c>collapse</c>: the missing key whose fetch this request claimed; the requests waiting for it look again when it completes.</summary>
    public string? Filling { get; set; }

    /// <summary>Holds whatever is written until the service is known to have answered (a stale fallback may replace a failure).</summary>
    public void HoldForFallback() => Install(BodyMode.Hold, 0);

    /// <summary>Forwarder seam: the upstream request's headers are built; the request transforms apply. Returns a refused header's name.</summary>
    public string? OnRequestHeaders(HttpRequestMessage message)
    {
        if (policies.ResponseTransform?.Body is not null)
        {
            // The body is read to be reshaped: it must come without a content coding the gateway would have to undo.
            message.Headers.Remove("Accept-Encoding");
        }

        return policies.RequestTransform?.ApplyHeaders(message, this);
    }

    /// <summary>Forwarder seam: the service's status and headers are on the response; its body has not been copied yet.</summary>
    public void OnResponseHeaders()
    {
        var response = context.Response;
        if (Fallback is not null && CachePolicy.ServedStaleOnError(response.StatusCode))
        {
            return; // held, and replaced by the stale answer when the forwarder is done
        }

        policies.ResponseTransform?.ApplyHeaders(response, this);
        if (policies.ResponseTransform is { Body: not null } transform && Transforms.ResponseTransform.Reshapes(response.StatusCode))
        {
            _reshape = true;
            response.Headers.ContentLength = null;
            response.Headers.ETag = default;
            response.Headers.Remove("Content-MD5");

            // Held whole to be reshaped; an answer that is not JSON is held too, keeping none of it, and refused.
            Install(BodyMode.Hold, Transforms.ResponseTransform.IsJson(response.ContentType) ? transform.MaxBodySize : 0);
        }

        // The body is copied as it passes for the cache and for the response check; the copy's limit is the larger.
        var copyLimit = -1L;
        if (policies.Cache is { } cache && CacheLookup.Key is not null)
        {
            _pending = cache.Judge(context, CacheLookup, cache.Now);
            response.Headers[CachePolicy.StatusHeader] = "miss";
            if (_pending is not null)
            {
                copyLimit = cache.MaxEntrySize;
            }
        }

        // After the cache has judged and kept what it may: values from the request are this answer's alone (a hit gets its own).
        policies.ResponseTransform?.ApplyRequestValues(response, this);

        if (policies.ResponseValidation is { } check && check.Wants(response.StatusCode, response.ContentType))
        {
            if (response.Headers.ContentEncoding.Count > 0)
            {
                check.Skipped(); // compressed: the gateway does not undo a coding only to check
            }
            else
            {
                _checkResponse = true;
                copyLimit = Math.Max(copyLimit, check.MaxBodySize);
            }
        }

        if (_reshape)
        {
            return; // held whole for the reshaping, which the cache and the check read
        }

        if (copyLimit >= 0)
        {
            Install(BodyMode.Tee, copyLimit);
        }
        else if (_body is { Mode: BodyMode.Hold })
        {
            // Held only for a fallback that is not needed: from here the body passes on, uncopied.
            _body.Switch(BodyMode.Tee, 0);
            _body.StopCopying();
        }
    }

    /// <summary>After the forwarder returned: the stale fallback, the reshaped body, the cache entry.</summary>
    public async Task CompleteAsync()
    {
        try
        {
            if (_body is null)
            {
                return;
            }

            context.Features.Set(_originalBody);
            var response = context.Response;
            if (Fallback is { } stale && CachePolicy.ServedStaleOnError(response.StatusCode) && !response.HasStarted)
            {
                response.Clear();
                await policies.Cache!.ServeAsync(this, stale, "stale").ConfigureAwait(false);
                return;
            }

            if (_checkResponse)
            {
                // The service's body as it sent it (before any reshaping), checked after the client has it.
                if (_body.Overflowed || _body.Copied.Length > policies.ResponseValidation!.MaxBodySize)
                {
                    policies.ResponseValidation!.Skipped();
                }
                else if (!context.RequestAborted.IsCancellationRequested)
                {
                    policies.ResponseValidation.CheckLater(response.StatusCode, response.ContentType, _body.Copied.ToArray(), requestId);
                }
            }

            if (_reshape)
            {
                await WriteReshapedAsync(response).ConfigureAwait(false);
                return;
            }

            if (_pending is { } pending && !_body.Overflowed && _body.Copied.Length <= policies.Cache!.MaxEntrySize && !context.RequestAborted.IsCancellationRequested)
            {
                policies.Cache.Keep(pending, _body.Copied);
            }
        }
        finally
        {
            if (Refreshing is { } key)
            {
                policies.Cache!.Store.EndRefresh(key);
            }

            if (Filling is { } filled)
            {
                policies.Cache!.Store.EndFill(filled);
            }
        }
    }

    private async Task WriteReshapedAsync(HttpResponse response)
    {
        var transform = policies.ResponseTransform!;
        byte[]? shaped = null;
        string? reason = null, detail = null;
        if (!Transforms.ResponseTransform.IsJson(response.ContentType))
        {
            reason = response.ContentType is { Length: > 0 } type ? $"Content-Type '{type}' is not JSON" : "it has no Content-Type";
            detail = "The service's response is not JSON (its Content-Type says so, or it has none), and the route's body transform reads only JSON.";
        }
        else if (_body!.Overflowed)
        {
            reason = $"larger than {transform.MaxBodySize} bytes";
            detail = $"The service's response is larger than the {transform.MaxBodySize} bytes the route's body transform reads.";
        }
        else if (response.Headers.ContentEncoding.Count > 0)
        {
            reason = $"compressed ({response.Headers.ContentEncoding})";
            detail = "The service's response is compressed, and the route's body transform reads only uncompressed JSON.";
        }
        else if ((shaped = transform.Reshape(_body.Copied, response.StatusCode, response.Headers, this)) is null)
        {
            reason = "its body does not parse as JSON";
            detail = "The service's response is not JSON the route's body transform can read.";
        }

        if (shaped is null)
        {
            // Never passed on unshaped: the template may exist to keep fields from clients.
            transform.Refused(response.StatusCode, reason!, requestId);
            await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "transform-failed", "Response could not be transformed", detail!, requestId).ConfigureAwait(false);
            return;
        }

        response.ContentLength = shaped.Length;
        if (_pending is { } pending && !context.RequestAborted.IsCancellationRequested)
        {
            policies.Cache!.Keep(pending, shaped);
        }

        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(shaped, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private void Install(BodyMode mode, long limit)
    {
        if (_body is not null)
        {
            _body.Switch(mode, limit);
            return;
        }

        _originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        _body = new PolicyResponseBody(_originalBody, mode, limit);
        context.Features.Set<IHttpResponseBodyFeature>(_body);
    }
}
