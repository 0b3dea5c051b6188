using System.Collections.Concurrent;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Client;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// A gateway with <c>gateway.mcp</c> on, in front of a users service described by an OpenAPI document with $refs,
/// oneOf and anyOf, and three plans: reader (reads), writer (reads and writes, 3 calls a minute), nothing.
/// </summary>
internal sealed class McpKit : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    private McpKit(TestGateway gateway, TestBackend backend, TempDirectory dir, Dictionary<string, TestKey> keys, ConcurrentQueue<string> targets)
    {
        Gateway = gateway;
        Backend = backend;
        _dir = dir;
        Keys = keys;
        Targets = targets;
    }

    public TestGateway Gateway { get; }

    public TestBackend Backend { get; }

    public Dictionary<string, TestKey> Keys { get; }

    /// <summary>The raw request targets the backend received.</summary>
    public ConcurrentQueue<string> Targets { get; }

    public const string OpenApi = """
        {"openapi":"3.0.3","info":{"title":"users","version":"1"},
         "paths":{
          "/users/{id}":{
            "get":{"operationId":"users.getUser","summary":"Get one user","tags":["users"],"parameters":[{"$ref":"#/components/parameters/Id"}],
                   "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/User"}}}}}},
            "delete":{"operationId":"users.deleteUser","summary":"Delete a user","tags":["users"],"parameters":[{"$ref":"#/components/parameters/Id"}],"responses":{"204":{"description":"gone"}}}},
          "/users":{
            "get":{"operationId":"users.search","summary":"Search users","description":"By name.","tags":["users"],"parameters":[{"name":"q","in":"query","schema":{"type":"string"}},{"name":"X-Trace","in":"header","schema":{"type":"string"}}],"responses":{"200":{"description":"ok"}}},
            "post":{"operationId":"users.createUser","summary":"Create a user","tags":["users"],"requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/NewUser"}}}},"responses":{"201":{"description":"created"}}}}},
         "components":{
          "parameters":{"Id":{"name":"id","in":"path","required":true,"description":"The user's id.","schema":{"type":"integer"}}},
          "schemas":{
            "User":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},"manager":{"$ref":"#/components/schemas/User"}}},
            "NewUser":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"address":{"$ref":"#/components/schemas/Address"},
              "contact":{"oneOf":[{"$ref":"#/components/schemas/Email"},{"$ref":"#/components/schemas/Phone"}]},
              "nick":{"anyOf":[{"type":"string"},{"type":"null"}]},
              "team":{"allOf":[{"$ref":"#/components/schemas/Address"},{"type":"object","properties":{"floor":{"type":"integer"}}}]}}},
            "Address":{"type":"object","properties":{"city":{"type":"string"}}},
            "Email":{"type":"object","properties":{"email":{"type":"string"}}},
            "Phone":{"type":"object","properties":{"phone":{"type":"string"}}}}}}
        """;

    public static async Task<McpKit> StartAsync(Func<string, string>? editYaml = null)
    {
        var targets = new ConcurrentQueue<string>();
        var backend = await TestBackend.StartAsync(async context =>
        {
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            targets.Enqueue(context.Request.Method + " " + raw);
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            if (context.Request.Path.Value == "/users/404")
            {
                context.Response.StatusCode = 404;
                context.Response.ContentType = "application/problem+json";
                await context.Response.WriteAsync("""{"title":"User not found","status":404,"detail":"There is no user with id 404."}""");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new { id = context.Request.Path.Value!.Split('/').Last(), method = context.Request.Method, target = raw, body }));
        });
        var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "users.json");
        await File.WriteAllTextAsync(file, OpenApi);
        var keys = new[] { "reader", "writer", "nothing" }.ToDictionary(p => p, _ => TestKey.New());
        var yaml = $$"""
            version: 1
            gateway:
              mcp: true
            services:
              users:
                targets: [{{backend.Url}}]
                openapi: { file: "{{file}}" }
            routes:
              get:    { operation: users.getUser }
              delete: { operation: users.deleteUser }
              search: { operation: users.search }
              create: { operation: users.createUser }
            plans:
              reader:
                include: [ { tag: users, access: read } ]
              writer:
                include: [ { tag: users } ]
                limits: [ { requests: 3, per: minute } ]
              nothing:
                include: [ { operation: users.getUser, access: write } ]
            accounts:
              a: {}
            applications:
            {{string.Concat(keys.Select(k => $"  {k.Key}-app: {{ account: a, plan: {k.Key}, keys: [ {{ sha256: \"{k.Value.Sha256}\" }} ] }}\n"))}}
            """;
        var gateway = await TestGateway.StartAsync(editYaml is null ? yaml : editYaml(yaml));
        return new McpKit(gateway, backend, dir, keys, targets);
    }

    /// <summary>The official C# SDK's MCP client, over Streamable HTTP, with <paramref name="plan"/>'s key (none for null).</summary>
    public Task<McpClient> ClientAsync(string? plan, string? forwardedFor = null) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(Gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new[] { (AccessKit.KeyHeader, plan is null ? null : Keys[plan].Plaintext), ("X-Forwarded-For", forwardedFor) }
                .Where(h => h.Item2 is not null).ToDictionary(h => h.Item1, h => h.Item2!) is { Count: > 0 } headers ? headers : null,
        }));

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Backend.DisposeAsync();
        _dir.Dispose();
    }
}
