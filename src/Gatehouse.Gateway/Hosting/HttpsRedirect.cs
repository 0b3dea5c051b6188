using Gatehouse.Gateway.Problems;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// The mark of a connection to a listener with <c>redirectToHttps</c> (a connection feature, which Kestrel's request
/// features fall back to): its requests are sent to https, with the same host, path and query.
/// </summary>
internal sealed class HttpsRedirect(int port)
{
    private const string AcmeChallenges = "/.well-known/acme-challenge/";

    /// <summary>False for what is never redirected: ACME HTTP-01 challenges, which are routed as usual.</summary>
    public static bool Applies(string path) => !path.StartsWith(AcmeChallenges, StringComparison.Ordinal);

    /// <summary>308 to the https URL of the request, or 400 <c>bad-host</c> when its Host cannot make one.</summary>
    public Task AnswerAsync(HttpContext context, string requestId)
    {
        var request = context.Request;
        var host = PathSafety.HostWithoutPort(request.Host.Value).ToString();
        if (string.IsNullOrEmpty(host) || !Forwarding.HeaderRules.IsSafeValue(host) || host.Contains('/') || host.Contains('@'))
        {
            return ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-host", "Bad host",
                "This listener sends clients to https, and the request's Host header names no host to send them to; send the host you asked for.", requestId);
        }

        var authority = port == 443 ? host : $"{host}:{port}";
        context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
        context.Response.Headers.Location = $"https://{authority}{request.PathBase}{request.Path.ToUriComponent()}{request.QueryString}";
        context.Response.Headers["X-Request-Id"] = requestId;
        return Task.CompletedTask;
    }
}
