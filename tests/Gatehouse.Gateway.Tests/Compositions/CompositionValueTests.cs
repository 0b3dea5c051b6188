using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>
/// How backend values travel through a composition (#4): into later calls' URLs and bodies, through per-item fan-outs,
/// and into the answer, byte for byte, now that they are borrowed elements of pooled JsonDocuments.
/// </summary>
public sealed class CompositionValueTests : IAsyncLifetime
{
    /// <summary>A backend string with a quote, a non-ASCII letter and a newline, written escaped as a backend would.</summary>
    private const string EscapedJson = "\"a\\\"b\\u00e9\\n\"";
    private const string Escaped = "a\"b\u00e9\n";
    private static readonly string LongKey = new('k', 70);

    private readonly ConcurrentQueue<string> _targets = new();
    private readonly ConcurrentQueue<(string Target, byte[] Body, string? ContentType)> _posts = new();
    private int _inFlight;
    private int _maxInFlight;
    private TestBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync(app => app.Run(async context =>
        {
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            _targets.Enqueue(raw);
            var path = context.Request.Path.Value!;
            context.Response.ContentType = "application/json";
            if (path == "/list")
            {
                // Duplicates, and 4 once as a number and once as a string: one key, so one call.
                await context.Response.WriteAsync("""{"ids":[3,1,3,2,1,4,"4"],"name":""" + EscapedJson + "}");
            }
            else if (path.StartsWith("/items/", StringComparison.Ordinal))
            {
                var now = Interlocked.Increment(ref _inFlight);
                InterlockedMax(ref _maxInFlight, now);
                try
                {
                    // Long enough for the calls to overlap if the gateway let them.
                    await Task.Delay(100);
                    var id = path[7..];
                    await context.Response.WriteAsync($$"""{"id":{{id}},"name":"item {{id}}","price":{{id}}.50}""");
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
            else if (path == "/objects")
            {
                await context.Response.WriteAsync("""{"ids":[1,{"a":1}],"o":{"a":1}}""");
            }
            else if (path == "/keys")
            {
                // Keys of every kind, each repeated: 2 as a string, longer than a stack scratch, escaped, and "xy" spelt escaped once.
                await context.Response.WriteAsync("""{"ids":[3,1,3,"2",""" + $"\"{LongKey}\"" + ""","q\"t",5,"x\u0079","xy",""" + $"\"{LongKey}\"]}}");
            }
            else if (path == "/batch")
            {
                // Out of order, 3 twice (the first counts), 9 not asked for, 1 missing, and things that are not objects with an id.
                await context.Response.WriteAsync("""[{"id":5,"n":"five"},{"id":"3","n":"three-first"},{"id":3,"n":"three-second"},{"id":9,"n":"nine"},"""
                    + $$"""{"id":"{{LongKey}}","n":"long"},""" + """{"id":"q\"t","n":"quote"},{"id":2,"n":"two"},{"id":"xy","n":"xy"},"s",{"noid":1},null]""");
            }
            else if (path == "/create")
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                _posts.Enqueue((raw, buffer.ToArray(), context.Request.ContentType));
                await context.Response.WriteAsync("""{"created":true}""");
            }
            else if (path.StartsWith("/echo/", StringComparison.Ordinal))
            {
                await context.Response.WriteAsJsonAsync(new { raw });
            }
            else
            {
                context.Response.StatusCode = 404;
            }
        }));
    }

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private string Yaml(string compositions) => $$"""
        version: 1
        services:
          shop:
            targets: [{{_backend.Url}}]
            operations:
              shop.list: { method: GET, path: /list }
        compositions:
        {{compositions}}
        """;

    [Fact]
    public async Task PerItemFanOut_CallsEachDistinctItemOnce_AtMostTwoAtATime_AndJoinsTheBodies()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              items:
                path: /items
                steps:
                  list: { operation: shop.list }
                  items:
                    service: shop
                    path: "/items/{id}"
                    forEach: "@list.body.ids"
                    concurrency: 2
                    params: { id: "@item" }
                response:
                  all: "@items.body"
                  names: { "@each": "@items.body", "@value": "@item.name" }
                  joined: { "@each": "@list.body.ids", "@as": id, id: "@id", item: { "@lookup": "@items.body", "@by": "@id", "@select": [price] } }
                  total: { "@sum": "@items.body", "@of": [price] }
            """));

        var response = await gw.Client.GetAsync("/items");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(
            """{"all":[{"id":3,"name":"item 3","price":3.50},{"id":1,"name":"item 1","price":1.50},{"id":2,"name":"item 2","price":2.50},{"id":4,"name":"item 4","price":4.50}]"""
            + ""","names":["item 3","item 1","item 2","item 4"]"""
            + ""","joined":[{"id":3,"item":{"price":3.50}},{"id":1,"item":{"price":1.50}},{"id":3,"item":{"price":3.50}},{"id":2,"item":{"price":2.50}},{"id":1,"item":{"price":1.50}},{"id":4,"item":{"price":4.50}},{"id":"4","item":{"price":4.50}}]"""
            + ""","total":12.00}""",
            text);
        Assert.Equal(["/items/1", "/items/2", "/items/3", "/items/4"], _targets.Where(t => t.StartsWith("/items/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.InRange(_maxInFlight, 1, 2);
    }

    [Fact]
    public async Task BatchedFanOut_AsksForEachDistinctKeyOnce_AndGivesTheFirstReturnedObjectOfEachKey_InTheItemsOrder()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              batched:
                path: /batched
                steps:
                  keys: { service: shop, path: /keys }
                  found:
                    service: shop
                    path: /batch
                    forEach: "@keys.body.ids"
                    batch: { param: ids, key: id }
                response:
                  names: { "@each": "@found", "@value": "@item.n" }
            """));

        var response = await gw.Client.GetAsync("/batched");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("""{"names":["three-first","two","long","quote","five","xy"]}""", text);
        Assert.Equal($"/batch?ids=3,1,2,{LongKey},q%22t,5,xy", Assert.Single(_targets, t => t.StartsWith("/batch", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("path: \"/items/{id}\", params: { id: \"@objs.body.o\" }", "/x", 502, "parameter 'id' has a value that is not a string or number.")]
    [InlineData("path: /items, query: { q: \"@objs.body\" }", "/x", 502, "query 'q' has a value that is not a string or number.")]
    [InlineData("path: /batch, forEach: \"@objs.body.ids\", batch: { param: ids }", "/x", 502, "batch has a value that is not a string or number.")]
    [InlineData("path: \"/items/{id}\", params: { id: \"@request.query.id\" }", "/x", 400, "parameter 'id' has no value in the request.")]
    [InlineData("path: \"/items/{id}\", params: { id: \"@request.query.id\" }", "/x?id=", 0, null)]
    public async Task AValueThatIsNotOneStringOrNumber_FailsTheStep_AndNothingIsCalled(string call, string target, int status, string? detail)
    {
        await using var gw = await TestGateway.StartAsync(Yaml($$"""
              x:
                path: /x
                steps:
                  objs: { service: shop, path: /objects }
                  use: { service: shop, {{call}} }
            """));

        var response = await gw.Client.GetAsync(target);
        var text = await response.Content.ReadAsStringAsync();

        if (detail is null)
        {
            // An empty string is a value: the segment is empty, and the backend (not the gateway) answers.
            Assert.Contains("/items/", _targets);
            return;
        }

        Assert.True((int)response.StatusCode == status, text);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("composition-bad-value", text, StringComparison.Ordinal);
        Assert.Contains($"Step 'use': {detail}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(_targets, t => t.StartsWith("/items", StringComparison.Ordinal) || t.StartsWith("/batch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BodyTemplate_IsSentAsTheJsonOfAnEarlierStepsValues()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              create:
                path: /create
                steps:
                  list: { operation: shop.list }
                  create:
                    service: shop
                    method: POST
                    path: /create
                    body: { ids: "@list.body.ids", first: "@list.body.ids[0]", name: "@list.body.name", missing: "@list.body.nope", fixed: [1, two, null, 2.50] }
                response: { created: "@create.body.created" }
            """));

        var response = await gw.Client.GetAsync("/create");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("""{"created":true}""", text);
        var (_, body, contentType) = Assert.Single(_posts);
        Assert.Equal("application/json", contentType);
        Assert.Equal(
            """{"ids":[3,1,3,2,1,4,"4"],"first":3,"name":"a\u0022b\u00E9\n","missing":null,"fixed":[1,"two",null,2.50]}""",
            Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task EscapedBackendString_IsOnePathSegmentAndOneQueryValue_AndReachesTheAnswerUnchanged()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              echo:
                path: /echo
                steps:
                  list: { operation: shop.list }
                  echo: { service: shop, path: "/echo/{v}", params: { v: "@list.body.name" }, query: { q: "@list.body.name" } }
                response: { name: "@list.body.name", raw: "@echo.body.raw" }
            """));

        var response = await gw.Client.GetAsync("/echo");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var raw = Assert.Single(_targets, t => t.StartsWith("/echo/", StringComparison.Ordinal));
        Assert.Equal("/echo/a%22b%C3%A9%0A?q=a%22b%C3%A9%0A", raw);
        Assert.Equal(Escaped, Uri.UnescapeDataString(raw[6..raw.IndexOf('?', StringComparison.Ordinal)]));
        Assert.Equal("""{"name":"a\u0022b\u00E9\n","raw":"/echo/a%22b%C3%A9%0A?q=a%22b%C3%A9%0A"}""", text);
        Assert.Equal(Escaped, JsonNode.Parse(text)!["name"]!.GetValue<string>());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var now && now != seen)
        {
            seen = now;
        }
    }
}
