using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>The composition metrics, read with a <see cref="MeterListener"/> over real composition runs (#4).</summary>
public sealed class CompositionMetricsTests : IAsyncLifetime
{
    // Other tests run compositions concurrently; only this class's composition ids are kept.
    private const string Profile = "metrics-profile";
    private const string Strict = "metrics-strict";

    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, string?> Tags)> _measured = new();
    private readonly MeterListener _listener = new();
    private TestBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Gatehouse.Composition")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();

        _backend = await TestBackend.StartAsync(app => app.Run(async context =>
        {
            switch (context.Request.Path.Value)
            {
                case "/users/1":
                    await context.Response.WriteAsJsonAsync(new { id = 1, name = "Ann" });
                    break;
                default:
                    context.Response.StatusCode = 404;
                    break;
            }
        }));
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _backend.DisposeAsync();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, string?>();
        foreach (var (k, v) in tags)
        {
            map[k] = v?.ToString();
        }

        if (map.GetValueOrDefault("composition") is Profile or Strict)
        {
            _measured.Enqueue((instrument.Name, value, map));
        }
    }

    [Fact]
    public async Task CompositionRuns_CountOutcomes_TimeSteps_AndCountMissingOptionalSteps()
    {
        const string key = "ghk_test_metrics_key";
        var hash = Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(key);
        await using var gw = await TestGateway.StartAsync($$"""
            version: 1
            services:
              users:
                targets: [{{_backend.Url}}]
                operations:
                  users.getUser: { method: GET, path: "/users/{id}" }
            compositions:
              {{Profile}}:
                path: "/profiles/{id}"
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                  extra: { service: users, path: /gone, optional: true }
                response: { user: "@user.body.name", extra: "@extra.body" }
              {{Strict}}:
                path: "/strict/{id}"
                steps:
                  user: { operation: users.getUser, params: { id: "@request.path.id" } }
                response: "@user.body"
            plans:
              open:
                anonymous: true
                include: [ { path: "/profiles/**" } ]
              keyed:
                include: [ { path: "/**" } ]
            accounts: { acme: {} }
            applications:
              app:
                account: acme
                plan: keyed
                keys: [ { sha256: {{hash}} } ]
            """);

        var ok = await gw.Client.GetAsync("/profiles/1");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var failing = new HttpRequestMessage(HttpMethod.Get, "/strict/2");
        failing.Headers.Add("X-Api-Key", key);
        Assert.Equal(HttpStatusCode.BadGateway, (await gw.Client.SendAsync(failing)).StatusCode);

        // No key on a route only the keyed plan grants: refused before any step runs.
        Assert.Equal(HttpStatusCode.Unauthorized, (await gw.Client.GetAsync("/strict/1")).StatusCode);

        var requests = _measured.Where(m => m.Instrument == "gatehouse.composition.requests")
            .Select(m => (m.Tags["composition"], m.Tags["outcome"], m.Value)).Order().ToList();
        Assert.Equal([(Profile, "ok", 1d), (Strict, "refused", 1d), (Strict, "step-failed", 1d)], requests);

        var durations = _measured.Where(m => m.Instrument == "gatehouse.composition.step.duration" && m.Tags["composition"] == Profile)
            .ToDictionary(m => m.Tags["step"]!, m => m.Value);
        Assert.Equal(["extra", "user"], durations.Keys.Order());
        Assert.All(durations.Values, d => Assert.InRange(d, 0, 10));

        var missing = Assert.Single(_measured, m => m.Instrument == "gatehouse.composition.missing_steps");
        Assert.Equal((Profile, "extra", 1d), (missing.Tags["composition"], missing.Tags["step"], missing.Value));
    }
}
