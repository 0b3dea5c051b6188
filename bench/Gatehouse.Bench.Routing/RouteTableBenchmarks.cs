using BenchmarkDotNet.Attributes;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Bench.Routing;

/// <summary>
/// Route matching cost as the route count grows: the trie should make it flat. Each route is
/// <c>/svc{i}/items/{id}</c> (GET) or <c>/svc{i}/files/{**rest}</c>, compiled by the real SnapshotCompiler.
/// </summary>
[MemoryDiagnoser]
public class RouteTableBenchmarks
{
    private RouteTable _table = null!;
    private string _literalHit = null!;
    private string _catchAllHit = null!;

    [Params(10, 1_000, 10_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var routes = new Dictionary<string, RouteConfig>();
        for (var i = 0; i < Routes; i++)
        {
            routes[$"items-{i}"] = new RouteConfig { Methods = ["GET"], Path = $"/svc{i}/items/{{id}}", Service = "backend" };
            routes[$"files-{i}"] = new RouteConfig { Path = $"/svc{i}/files/{{**rest}}", Service = "backend" };
        }

        var config = new GatehouseConfig
        {
            Services = new Dictionary<string, ServiceConfig> { ["backend"] = new() { Targets = [new TargetConfig { Url = "http://127.0.0.1:5000" }] } },
            Routes = routes,
        };
        var result = SnapshotCompiler.Compile(config, 1, null, TimeProvider.System, NullLoggerFactory.Instance);
        _table = result.Snapshot?.Routes ?? throw new InvalidOperationException(string.Join("; ", result.Errors));
        _literalHit = $"/svc{Routes / 2}/items/42";
        _catchAllHit = $"/svc{Routes - 1}/files/a/b/c.txt";
    }

    [Benchmark(Baseline = true)]
    public bool ParameterRoute() => Match("GET", _literalHit);

    [Benchmark]
    public bool CatchAllRoute() => Match("PUT", _catchAllHit);

    [Benchmark]
    public bool Miss() => Match("GET", "/nowhere/at/all");

    private bool Match(string method, string path)
    {
        var captures = default(RouteCaptures);
        var allowed = default(AllowedMethods);
        return _table.Match(method, "api.example.com", path, out _, ref captures, ref allowed) == MatchOutcome.Matched;
    }
}
