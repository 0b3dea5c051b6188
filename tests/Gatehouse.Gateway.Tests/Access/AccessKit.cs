using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>One operation of the test services: its id, service, method, path template, tag and declared access (if any).</summary>
internal sealed record TestOperation(string Id, string Service, string Method, string Path, string Tag, string? Access = null)
{
    /// <summary>The route bound to the operation: its id with '.' replaced, since route ids are plain names.</summary>
    public string RouteId => Id.Replace('.', '-');

    /// <summary>A request path the operation's template matches.</summary>
    public string RequestPath => Path.Replace("{id}", "42", StringComparison.Ordinal);
}

/// <summary>An API key as the client holds it, and as config keeps it.</summary>
internal sealed record TestKey(string Plaintext, string Sha256)
{
    public static TestKey New() => From(ApiKeyHash.NewKey());

    public static TestKey From(string plaintext) => new(plaintext, ApiKeyHash.Sha256Hex(plaintext));
}

/// <summary>What a request through the gateway came back with: status, the raw body, and what the echo backend saw (2xx only).</summary>
internal sealed record Sent(HttpResponseMessage Response, string Body, EchoResponse? Upstream)
{
    public int Status => (int)Response.StatusCode;

    /// <summary>The problem's <c>detail</c> (the body escapes quotes, so read it parsed), or null when the body is no problem.</summary>
    public string? Detail => Response.Content.Headers.ContentType?.MediaType == "application/problem+json"
        ? System.Text.Json.JsonDocument.Parse(Body).RootElement.GetProperty("detail").GetString()
        : null;

    /// <summary>The response header's values joined by ',', or null.</summary>
    public string? Header(string name) =>
        Response.Headers.TryGetValues(name, out var values) || Response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;
}

/// <summary>
/// The services, operations and routes the access tests share (users, products and orders with read and write
/// operations, one route per operation), and a way to send one request with a key.
/// </summary>
internal static class AccessKit
{
    public const string KeyHeader = "X-Api-Key";

    /// <summary>The operations of the three services. <c>products.search</c> is a POST declared <c>access: read</c>.</summary>
    public static readonly TestOperation[] Operations =
    [
        new("users.getUser", "users", "GET", "/users/{id}", "users"),
        new("users.updateUser", "users", "PUT", "/users/{id}", "users"),
        new("users.deleteUser", "users", "DELETE", "/users/{id}", "users"),
        new("products.list", "products", "GET", "/products", "products"),
        new("products.create", "products", "POST", "/products", "products"),
        new("products.search", "products", "POST", "/products/search", "products", "read"),
        new("orders.getOrder", "orders", "GET", "/orders/{id}", "orders"),
        new("orders.createOrder", "orders", "POST", "/orders", "orders"),
        new("orders.patchOrder", "orders", "PATCH", "/orders/{id}", "orders"),
        new("orders.cancelOrder", "orders", "DELETE", "/orders/{id}", "orders"),
    ];

    /// <summary>
    /// <c>services:</c> and <c>routes:</c> (one route per operation) in front of <paramref name="backendUrl"/>, plus
    /// <paramref name="extraRoutes"/> (YAML lines, indented by two spaces, under <c>routes:</c>).
    /// </summary>
    public static string ServicesAndRoutes(string backendUrl, string extraRoutes = "")
    {
        var text = new System.Text.StringBuilder("services:\n");
        foreach (var service in Operations.GroupBy(o => o.Service))
        {
            text.Append($"  {service.Key}:\n    targets: [{backendUrl}]\n    operations:\n");
            foreach (var op in service)
            {
                var access = op.Access is null ? "" : $", access: {op.Access}";
                text.Append($"      {op.Id}: {{ method: {op.Method}, path: \"{op.Path}\", tags: [{op.Tag}]{access} }}\n");
            }
        }

        text.Append("routes:\n");
        foreach (var op in Operations)
        {
            text.Append($"  {op.RouteId}: {{ operation: {op.Id} }}\n");
        }

        text.Append(extraRoutes);
        return text.ToString();
    }

    /// <summary>An application entry (indented under <c>applications:</c>) with one key.</summary>
    public static string Application(string id, string plan, TestKey key, string state = "live", string extra = "", DateTimeOffset? expires = null)
    {
        var expiry = expires is { } at ? $", expires: \"{at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)}\"" : "";
        return $"  {id}: {{ account: acme, plan: {plan}, state: {state}, keys: [ {{ sha256: {key.Sha256}{expiry} }} ]{extra} }}\n";
    }

    /// <summary>Sends <paramref name="method"/> <paramref name="path"/> with <paramref name="key"/> in the key header (when given) and <paramref name="headers"/>.</summary>
    public static async Task<Sent> SendAsync(HttpClient client, string method, string path, string? key = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(KeyHeader, key);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = JsonContent.Create(new { name = "x" });
        }

        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var upstream = response.IsSuccessStatusCode && method != "HEAD"
            ? System.Text.Json.JsonSerializer.Deserialize<EchoResponse>(body, System.Text.Json.JsonSerializerOptions.Web)
            : null;
        return new Sent(response, body, upstream);
    }
}
