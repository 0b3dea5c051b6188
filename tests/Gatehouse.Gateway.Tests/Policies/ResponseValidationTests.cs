using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, response validation in shadow mode: a service's answer that does not fit the operation's response schema
/// is delivered byte for byte and counted (route, status) and logged with its first error's pointer, never its body; one
/// that fits is not counted; one larger than the limit is skipped and counted as such.
/// </summary>
[Trait("Issue", "23")]
public sealed class ResponseValidationTests : IDisposable
{
    private const string Document = """
        {
          "openapi": "3.0.3",
          "info": { "title": "orders", "version": "1" },
          "paths": {
            "/orders/{id}": {
              "get": {
                "operationId": "orders.get",
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } } ],
                "responses": {
                  "200": { "description": "ok", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["id", "total"],
                    "properties": { "id": { "type": "integer" }, "total": { "type": "number" } } } } } },
                  "404": { "description": "none" }
                }
              }
            }
          }
        }
        """;

    // Other tests may run checks at the same time: only this class's route is kept.
    private const string Route = "shadow-responses";

    private readonly ConcurrentQueue<(string Instrument, int? Status)> _measured = new();
    private readonly MeterListener _listener = new();

    public ResponseValidationTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Gatehouse.Gateway" && instrument.Name.StartsWith("gatehouse.validation.response.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            string? route = null;
            int? status = null;
            foreach (var tag in tags)
            {
                route = tag.Key == "gatehouse.route" ? tag.Value as string : route;
                status = tag.Key == "http.response.status_code" ? (int?)tag.Value : status;
            }

            if (route == Route)
            {
                _measured.Enqueue((instrument.Name, status));
            }
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    private int Count(string instrument) => _measured.Count(m => m.Instrument == "gatehouse.validation.response." + instrument);

    // The check runs after the response is sent, so its count may land just after the client has the answer.
    private async Task WaitForChecksAsync(int count, string instrument = "checked")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Count(instrument) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(count, Count(instrument));
    }

    [Fact]
    public async Task MismatchingResponse_IsDeliveredUnchanged_CountedAndLoggedWithItsPointer_AMatchingOneIsNot()
    {
        const string wrong = """{"id":1,"total":"twelve","secret":"never-logged"}""";
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path.Value switch
            {
                "/orders/1" => wrong,
                "/orders/3" => "{\"id\":3,\"total\":" + new string('1', 4000) + "}",
                _ => """{"id":2,"total":12.5}""",
            });
        });
        using var dir = new TempDirectory();
        var file = dir.Write("orders.json", Document);
        using var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              orders:
                targets: [{{backend.Url}}]
                openapi: { file: "{{file}}" }
                policies:
                  validate: { request: enforce, response: shadow, maxBodySize: 1KB }
            routes:
              {{Route}}: { operation: orders.get, path: "/orders/{id}" }
            """, logs: logs);

        var matching = await gateway.Client.GetAsync("/orders/2");
        await WaitForChecksAsync(1);
        Assert.Equal(0, Count("mismatches"));

        var mismatching = await gateway.Client.GetAsync("/orders/1");
        Assert.Equal(HttpStatusCode.OK, mismatching.StatusCode);
        Assert.Equal(wrong, await mismatching.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, matching.StatusCode);
        await WaitForChecksAsync(2);
        await WaitForChecksAsync(1, "mismatches"); // counted just after "checked", so it may land a moment later
        Assert.Equal([("gatehouse.validation.response.mismatches", (int?)200)], _measured.Where(m => m.Instrument.EndsWith("mismatches", StringComparison.Ordinal)));

        var logged = await logs.WaitForAsync(e => e.Category == "Gatehouse.Validation" && e.Level == LogLevel.Warning, TimeSpan.FromSeconds(5));
        Assert.Contains("'/total'", logged.Message);
        Assert.Contains(Route, logged.Message);
        Assert.DoesNotContain("never-logged", logged.Message);
        Assert.DoesNotContain("twelve", logged.Message);

        // Above the limit: passed on whole, not read, counted as skipped.
        var large = await gateway.Client.GetAsync("/orders/3");
        Assert.Equal(4000 + 17, (await large.Content.ReadAsStringAsync()).Length);
        await WaitForChecksAsync(1, "skipped");
        Assert.Equal(2, Count("checked"));
        Assert.Equal(1, Count("mismatches"));
    }
}
