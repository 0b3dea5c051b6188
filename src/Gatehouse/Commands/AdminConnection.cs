using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// What the admin API commands share: the <c>--admin-url</c> and <c>--token</c> options, and a request that turns
/// "cannot connect" and 401 into a clear message and exit code 2 (problems with the setup, not with the config).
/// </summary>
internal sealed class AdminConnection
{
    public const string TokenVariable = "GATEHOUSE_ADMIN_TOKEN";

    public Option<string> Url { get; } = new("--admin-url")
    {
        Description = $"The admin API of 'gatehouse run --store' (default {AdminApiOptions.DefaultUrl}).",
        DefaultValueFactory = _ => AdminApiOptions.DefaultUrl,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"The admin token (default: the {TokenVariable} environment variable).",
    };

    /// <summary>Sends <paramref name="request"/>; returns the answer, or null after printing why there is none (exit 2).</summary>
    public async Task<(HttpStatusCode Status, string Body, string? Revision)?> SendAsync(ParseResult parse, HttpRequestMessage request, CancellationToken ct)
    {
        var url = parse.GetValue(Url)!;
        var token = parse.GetValue(Token) ?? Environment.GetEnvironmentVariable(TokenVariable);
        if (string.IsNullOrEmpty(token))
        {
            await Console.Error.WriteLineAsync($"No admin token: give --token TOKEN or set {TokenVariable} (the token 'gatehouse run --store' printed at its first start).").ConfigureAwait(false);
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
        {
            await Console.Error.WriteLineAsync($"'{url}' is not an http:// URL; give --admin-url like {AdminApiOptions.DefaultUrl}.").ConfigureAwait(false);
            return null;
        }

        using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(100) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpStatusCode status;
        string body;
        string? revision;
        try
        {
            using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            revision = response.Headers.TryGetValues("Gatehouse-Revision", out var values) ? values.FirstOrDefault() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"Cannot reach the admin API at {url} ({e.Message}). Is 'gatehouse run --store' running there? Give its address with --admin-url.").ConfigureAwait(false);
            return null;
        }

        if (status == HttpStatusCode.Unauthorized)
        {
            await Console.Error.WriteLineAsync($"The admin API at {url} refused the token (401). Give the admin token with --token or {TokenVariable}.").ConfigureAwait(false);
            return null;
        }

        return (status, body, revision);
    }

    /// <summary>Prints a problem answer: its detail and, for invalid configs, every error with its path.</summary>
    public static void PrintProblem(string context, HttpStatusCode status, string body)
    {
        JsonObject? problem = null;
        try
        {
            problem = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
        }

        var detail = problem?["detail"]?.ToString() ?? body;
        Console.Error.WriteLine($"{context}: {(int)status} {problem?["title"]?.ToString() ?? status.ToString()}: {detail}");
        if (problem?["errors"] is JsonArray errors)
        {
            foreach (var error in errors)
            {
                var path = error?["path"]?.ToString();
                Console.Error.WriteLine($"  {(string.IsNullOrEmpty(path) ? "" : path + ": ")}{error?["message"]}");
            }
        }
    }
}
