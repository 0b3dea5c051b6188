using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>Compositions end to end: a real gateway in front of a real shop-like backend on loopback (#4).</summary>
public sealed class CompositionTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Target, long Start, long End)> _calls = new();
    private readonly ConcurrentQueue<(string Target, string? ApiKey, string? Application)> _seen = new();
    private readonly TaskCompletionSource _slowArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _notFoundAfterSlow;
    private TestBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync(app => app.Run(async context =>
        {
            var start = Stopwatch.GetTimestamp();
            var target = context.Request.Path + context.Request.QueryString;
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            object? body = null;
            var path = context.Request.Path.Value!;
            _seen.Enqueue((raw, context.Request.Headers["X-Api-Key"].FirstOrDefault(), context.Request.Headers["Gatehouse-Application"].FirstOrDefault()));
            if (path.StartsWith("/users/", StringComparison.Ordinal))
            {
                await Task.Delay(300);
                if (path == "/users/404" && _notFoundAfterSlow)
                {
                    await _slowArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
                }

                body = path == "/users/404" ? null : new { id = path[7..], name = "Ann", email = "ann@example.com" };
                if (body is null)
                {
                    context.Response.StatusCode = 404;
                }
            }
            else if (path == "/orders")
            {
                await Task.Delay(300);
                body = new[]
                {
                    new { id = 1, userId = 7, items = new[] { new { productId = 1, quantity = 2 }, new { productId = 2, quantity = 1 } } },
                    new { id = 2, userId = 7, items = new[] { new { productId = 1, quantity = 1 } } },
                };
            }
            else if (path.StartsWith("/products/", StringComparison.Ordinal))
            {
                var id = int.Parse(path[10..], System.Globalization.CultureInfo.InvariantCulture);
                body = new { id, name = $"Product {id}", price = id * 10.5m, currency = "EUR" };
            }
            else if (path == "/products")
            {
                body = context.Request.Query["ids"].ToString().Split(',').Select(int.Parse).Select(id => new { id, name = $"Product {id}", price = id * 10.5m }).ToArray();
            }
            else if (path == "/deep")
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(new string('[', 10_000) + new string(']', 10_000));
            }
            else if (path == "/huge")
            {
                context.Response.ContentType = "application/json";
                var chunk = new byte[64 * 1024];
                Array.Fill(chunk, (byte)' ');
                try
                {
                    for (var i = 0; i < 1600; i++)
                    {
                        await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }
            else if (path == "/long")
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("[" + string.Join(",", Enumerable.Repeat("1", 5000)) + "]");
            }
            else if (path == "/slow")
            {
                _slowArrived.TrySetResult();
                try
                {
                    await Task.Delay(10_000, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                body = new { slow = true };
            }
            else if (path.StartsWith("/echo/", StringComparison.Ordinal))
            {
                body = new { raw };
            }

            _calls.Enqueue((raw, start, Stopwatch.GetTimestamp()));
            if (body is not null && !context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.WriteAsJsonAsync(body);
            }
        }));
    }

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private string Yaml(string compositions, string plans = "") => $$"""
        version: 1
        services:
          users:
            targets: [{{_backend.Url}}]
            operations:
              users.getUser: { method: GET, path: "/users/{id}" }
          orders:
            targets: [{{_backend.Url}}]
            operations:
              orders.listOrders: { method: GET, path: /orders }
          products:
            targets: [{{_backend.Url}}]
            operations:
              products.getProduct: { method: GET, path: "/products/{id}" }
        compositions:
        {{compositions}}
        {{plans}}
        """;

    private const string OrderHistory = """
          order-history:
            path: "/users/{id}/order-history"
            serverTiming: true
            steps:
              user: { operation: users.getUser, params: { id: "@request.path.id" }, statusMap: { 404: 404 } }
              orders: { operation: orders.listOrders, query: { userId: "@request.path.id" } }
              products:
                operation: products.getProduct
                forEach: "@orders.body[*].items[*].productId"
                params: { id: "@item" }
            response:
              user: { "@value": "@user.body", "@select": [id, name] }
              orders:
                "@each": "@orders.body"
                "@as": order
                id: "@order.id"
                items:
                  "@each": "@order.items"
                  "@value": "@item"
                  product: { "@lookup": "@products", "@by": "@item.productId", "@select": [id, name, price] }
                total: { "@sum": "@this.items", "@of": [quantity, product.price] }
        """;

    [Fact]
    public async Task OrderHistory_JoinsEachDistinctProductOnce_AndRunsIndependentStepsConcurrently()
    {
        await using var gw = await TestGateway.StartAsync(Yaml(OrderHistory));
        var response = await gw.Client.GetAsync("/users/7/order-history");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonNode.Parse(text)!;
        Assert.Equal("7", json["user"]!["id"]!.GetValue<string>());
        Assert.Null(json["user"]!["email"]);
        var orders = json["orders"]!.AsArray();
        Assert.Equal(2, orders.Count);
        Assert.Equal(2, orders[0]!["items"]!.AsArray().Count);
        Assert.Equal("Product 2", orders[0]!["items"]![1]!["product"]!["name"]!.GetValue<string>());
        Assert.Null(orders[0]!["items"]![0]!["product"]!["currency"]);
        Assert.Equal(2 * 10.5m + 1 * 21m, orders[0]!["total"]!.GetValue<decimal>());
        Assert.Equal(10.5m, orders[1]!["total"]!.GetValue<decimal>());

        // Each distinct product was fetched once, counted at the backend.
        var products = _calls.Where(c => c.Target.StartsWith("/products/", StringComparison.Ordinal)).Select(c => c.Target).Order().ToList();
        Assert.Equal(["/products/1", "/products/2"], products);

        // user and orders overlapped: each started before the other ended.
        var user = _calls.Single(c => c.Target.StartsWith("/users/", StringComparison.Ordinal));
        var order = _calls.Single(c => c.Target.StartsWith("/orders", StringComparison.Ordinal));
        Assert.True(user.Start < order.End && order.Start < user.End, "user and orders did not overlap");
        Assert.Equal("/orders?userId=7", order.Target);

        var timing = response.Headers.GetValues("Server-Timing").Single();
        Assert.Contains("user;dur=", timing, StringComparison.Ordinal);
        Assert.Contains("products;dur=", timing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task References_ReadAnEarlierStepsStatusAndHeaders()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              user-meta:
                path: "/users/{id}/meta"
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                response:
                  status: "@user.status"
                  contentType: "@user.headers.content-type"
                  name: "@user.body.name"
                  whole: "@user"
            """));

        var response = await gw.Client.GetAsync("/users/7/meta");
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonNode.Parse(text)!;
        Assert.Equal(200, json["status"]!.GetValue<int>());
        Assert.StartsWith("application/json", json["contentType"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Ann", json["name"]!.GetValue<string>());
        // A step named alone is its body (docs/compositions.md).
        Assert.Equal("Ann", json["whole"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequiredStep_404_IsMappedTo404ProblemNamingTheStep()
    {
        await using var gw = await TestGateway.StartAsync(Yaml(OrderHistory));
        var response = await gw.Client.GetAsync("/users/404/order-history");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("'user'", text, StringComparison.Ordinal);
        Assert.Contains("404", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("%2f..%2fadmin")]
    [InlineData("x?y=1")]
    [InlineData("x#frag")]
    [InlineData("a b")]
    [InlineData("x\r\nHost: evil")]
    public async Task ValuesFromTheRequest_AreOnePathSegmentAndOneQueryValue(string value)
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              probe:
                path: /probe
                steps:
                  echo: { service: users, path: "/echo/{v}", params: { v: "@request.query.v" }, query: { q: "@request.query.v" } }
            """));
        await gw.Client.GetAsync($"/probe?v={Uri.EscapeDataString(value)}");

        // The backend saw exactly one path segment and one query value, each decoding back to the value.
        var raw = Assert.Single(_calls).Target;
        Assert.StartsWith("/echo/", raw, StringComparison.Ordinal);
        var (segment, query) = (raw[6..raw.IndexOf('?', StringComparison.Ordinal)], raw[(raw.IndexOf('?', StringComparison.Ordinal) + 1)..]);
        Assert.DoesNotContain('/', segment);
        Assert.DoesNotContain('#', raw);
        Assert.NotEqual("..", segment);
        Assert.Equal(value, Uri.UnescapeDataString(segment));
        Assert.StartsWith("q=", query, StringComparison.Ordinal);
        Assert.DoesNotContain('&', query);
        Assert.Equal(value, Uri.UnescapeDataString(query[2..]));
    }

    [Theory]
    [InlineData("/deep", "composition-body-too-deep")]
    [InlineData("/huge", "composition-body-too-large")]
    [InlineData("/long", "composition-too-many-items")]
    public async Task HostileBackendJson_Gives502ProblemWithinLimits(string path, string slug)
    {
        await using var gw = await TestGateway.StartAsync(Yaml($$"""
              hostile:
                path: /hostile
                maxItems: 1000
                steps:
                  bad: { service: users, path: "{{path}}" }
            """));
        var response = await gw.Client.GetAsync("/hostile");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains(slug, text, StringComparison.Ordinal);
        Assert.Contains("'bad'", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answer_IsWrittenWhole_AfterOneLargerThanTheThreadsBuffer_AndHeadGivesItsLength()
    {
        // The answer is written straight into a per-thread buffer that one over 256 KB is not allowed to keep: a large
        // answer, then small ones, each must arrive whole and framed by its Content-Length.
        await using var gw = await TestGateway.StartAsync(Yaml("""
              big:
                path: /big
                maxItems: 10000
                steps:
                  long: { service: users, path: /long }
                response:
                  rows: { "@each": "@long.body", n: "@item", pad: "padding that makes every row of this answer some eighty bytes long" }
                  count: { "@sum": "@this.rows", "@of": [n] }
              meta:
                path: "/users/{id}/meta"
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                response: { name: "@user.body.name", again: "@this.name", id: "@request.path.id" }
            """));

        for (var round = 0; round < 3; round++)
        {
            var big = await gw.Client.GetAsync("/big");
            var bigText = await big.Content.ReadAsStringAsync();
            Assert.True(big.StatusCode == HttpStatusCode.OK, bigText);
            Assert.True(bigText.Length > 256 * 1024, $"only {bigText.Length} bytes");
            Assert.Equal(bigText.Length, big.Content.Headers.ContentLength);
            var json = JsonNode.Parse(bigText)!;
            Assert.Equal(5000, json["rows"]!.AsArray().Count);
            Assert.Equal(5000m, json["count"]!.GetValue<decimal>());

            var small = await gw.Client.GetAsync("/users/7/meta");
            var smallText = await small.Content.ReadAsStringAsync();
            Assert.Equal("""{"name":"Ann","again":"Ann","id":"7"}""", smallText);
            Assert.Equal(smallText.Length, small.Content.Headers.ContentLength);

            using var head = await gw.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/users/7/meta"));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(smallText.Length, head.Content.Headers.ContentLength);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
    }

    /// <summary>
    /// The optional step's backend takes 10 s; the deadline cuts it. The deadline is 3 s, not less: the required step is
    /// this gateway's first call to its backend, and a CI run under load took over 1 s for it (a 504 for the required step).
    /// </summary>
    [Fact]
    public async Task SlowOptionalStep_IsMissingAtTheDeadline_AndNamedInAHeader()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              partial:
                path: "/partial/{id}"
                deadline: 3s
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                  extra: { service: users, path: /slow, optional: true }
                response: { user: "@user.body.name", extra: "@extra.body" }
            """));
        var started = Stopwatch.GetTimestamp();
        var response = await gw.Client.GetAsync("/partial/1");
        var elapsed = Stopwatch.GetElapsedTime(started);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("extra", response.Headers.GetValues("Gatehouse-Missing-Steps").Single());
        var json = JsonNode.Parse(text)!;
        Assert.Equal("Ann", json["user"]!.GetValue<string>());
        Assert.Null(json["extra"]);
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"took {elapsed}");
    }

    [Theory]
    // The step's own timeout is shorter than the deadline: the step times out, and says so.
    [InlineData("300ms", "10s", "composition-step-timeout", "did not answer within 0.3s")]
    // The step's timeout is the longer one: the deadline ends the step (the call then needs no timer of its own).
    [InlineData("5s", "500ms", "composition-deadline", "deadline of 0.5s")]
    public async Task SlowRequiredStep_Gives504_FromWhicheverOfItsTimeoutAndTheDeadlineComesFirst(string timeout, string deadline, string slug, string detail)
    {
        await using var gw = await TestGateway.StartAsync(Yaml($$"""
              timed:
                path: /timed
                deadline: {{deadline}}
                steps:
                  slow: { service: users, path: /slow, timeout: {{timeout}} }
            """));
        var started = Stopwatch.GetTimestamp();
        var response = await gw.Client.GetAsync("/timed");
        var elapsed = Stopwatch.GetElapsedTime(started);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(slug, text, StringComparison.Ordinal);
        Assert.Contains(detail, text, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"took {elapsed}");
    }

    [Fact]
    public async Task FailingRequiredStep_CancelsTheOthers()
    {
        // The 404 waits until the slow call has arrived: with its 300 ms alone, a loaded machine could fail the composition
        // before the slow call was sent, and a call never sent never ends.
        _notFoundAfterSlow = true;
        await using var gw = await TestGateway.StartAsync(Yaml("""
              failing:
                path: /failing
                steps:
                  missing: { operation: users.getUser, params: { id: "404" } }
                  slow: { service: users, path: /slow }
            """));
        var started = Stopwatch.GetTimestamp();
        var response = await gw.Client.GetAsync("/failing");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(8));
        await Wait.UntilAsync(() => _calls.Any(c => c.Target == "/slow"), "the slow call ends");
        var slow = _calls.Single(c => c.Target == "/slow");
        Assert.True(Stopwatch.GetElapsedTime(slow.Start, slow.End) < TimeSpan.FromSeconds(8), "the slow call was not cancelled");
    }

    [Fact]
    public async Task PlanThatDoesNotGrantTheComposition_Gets403()
    {
        const string key = "ghk_test_composition_key";
        var hash = Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(key);
        await using var gw = await TestGateway.StartAsync(Yaml(OrderHistory, $$"""
            plans:
              basic:
                include: [ { operation: users.getUser } ]
              full:
                include: [ { operation: compositions.order-history }, { path: "/**" } ]
            accounts: { acme: {} }
            applications:
              shop:
                account: acme
                plan: basic
                keys: [ { sha256: {{hash}} } ]
            """));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/7/order-history");
        request.Headers.Add("X-Api-Key", key);
        var response = await gw.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.DoesNotContain(_calls, c => c.Target.StartsWith("/users/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PlanWithServerTiming_GetsOneEntryPerStep_OtherPlansDoNot()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              card:
                path: "/card/{id}"
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                  orders: { operation: orders.listOrders, query: { userId: "@request.path.id" } }
                response: { user: "@user.body", orders: "@orders.body" }
            """, $$"""
            plans:
              diagnose:
                serverTiming: true
                include: [ { operation: compositions.card } ]
              plain:
                include: [ { operation: compositions.card } ]
            accounts: { acme: {} }
            applications:
              ops: { account: acme, plan: diagnose, keys: [ { sha256: {{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("ghk_test_timing_ops")}} } ] }
              shop: { account: acme, plan: plain, keys: [ { sha256: {{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("ghk_test_timing_shop")}} } ] }
            """));

        async Task<HttpResponseMessage> GetAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/card/7");
            request.Headers.Add("X-Api-Key", key);
            return await gw.Client.SendAsync(request);
        }

        using var diagnosed = await GetAsync("ghk_test_timing_ops");
        Assert.Equal(HttpStatusCode.OK, diagnosed.StatusCode);
        var timing = diagnosed.Headers.GetValues("Server-Timing").Single();
        Assert.Matches(@"^user;dur=[0-9.]+, orders;dur=[0-9.]+$", timing);

        using var plain = await GetAsync("ghk_test_timing_shop");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.False(plain.Headers.Contains("Server-Timing"));
    }

    [Fact]
    public async Task Batch_MakesOneCallForAllDistinctItems_AndTheConsumerKeyStaysAtTheGateway()
    {
        const string key = "ghk_test_batch_key";
        var hash = Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(key);
        await using var gw = await TestGateway.StartAsync(Yaml("""
              batched:
                path: "/batched/{id}"
                steps:
                  orders: { operation: orders.listOrders, query: { userId: "@request.path.id" } }
                  products:
                    service: products
                    path: /products
                    forEach: "@orders.body[*].items[*].productId"
                    batch: { param: ids }
                response:
                  names: { "@each": "@products", "@value": "@item.name" }
                  app: "@request.application"
            """, $$"""
            plans:
              full:
                include: [ { operation: compositions.batched } ]
            accounts: { acme: {} }
            applications:
              shop:
                account: acme
                plan: full
                keys: [ { sha256: {{hash}} } ]
            """));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/batched/7");
        request.Headers.Add("X-Api-Key", key);
        var response = await gw.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonNode.Parse(text)!;
        Assert.Equal(["Product 1", "Product 2"], json["names"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("shop", json["app"]!.GetValue<string>());
        var batch = Assert.Single(_seen, s => s.Target.StartsWith("/products", StringComparison.Ordinal));
        Assert.Equal("/products?ids=1,2", batch.Target);
        Assert.All(_seen, s => Assert.Null(s.ApiKey));
        Assert.All(_seen, s => Assert.Equal("shop", s.Application));
    }
}
