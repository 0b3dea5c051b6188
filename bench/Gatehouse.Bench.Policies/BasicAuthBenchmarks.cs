using System.Text;
using BenchmarkDotNet.Attributes;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Bench.Policies;

/// <summary>
/// Issue 23, "a Basic password compared in constant time": what checking a Basic credential costs, and that it costs
/// the same whether the password is right, wrong in its first or its last character, or the user does not exist
/// (the password is hashed in every case and the hashes compared with FixedTimeEquals). Timing is measured here, never
/// asserted in a test.
/// </summary>
[MemoryDiagnoser]
public class BasicAuthBenchmarks
{
    private const string Password = "ghk_Q2hhbmdlIHRoaXMgZXhhbXBsZSBub3c";

    private AccessEngine _engine = null!;
    private AccessModel _model = null!;
    private string _credential = null!;

    [Params("right", "wrong-first-char", "wrong-last-char", "unknown-user")]
    public string Case { get; set; } = "right";

    [GlobalSetup]
    public void Setup()
    {
        var result = ConfigLoader.Load($$"""
            version: 1
            services:
              api: { targets: [http://127.0.0.1:9] }
            routes:
              items: { methods: [GET], path: "/items/{id}", service: api }
            plans:
              retail: { include: [ { route: items } ] }
            accounts: { acme: {} }
            applications:
              erp: { account: acme, plan: retail, basic: [ { username: erp, sha256: {{ApiKeyHash.Sha256Hex(Password)}} } ] }
            """, Path.GetTempPath());
        if (!result.IsValid)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, result.Errors));
        }

        var counters = new LimitCounters();
        _model = AccessCompiler.Compile(result.Config!, counters, null)!;
        _engine = new AccessEngine(new Limiter(counters, TimeProvider.System), TimeProvider.System, NullLogger.Instance);
        var (user, password) = Case switch
        {
            "right" => ("erp", Password),
            "wrong-first-char" => ("erp", "X" + Password[1..]),
            "wrong-last-char" => ("erp", Password[..^1] + "X"),
            _ => ("nobody", Password),
        };
        _credential = Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));
        if (Authenticate() != (Case == "right"))
        {
            throw new InvalidOperationException($"case {Case}: the wrong answer");
        }
    }

    [Benchmark]
    public bool Authenticate() => _engine.AuthenticateBasic(_model, _credential).Kind == CallerKind.Application;
}
