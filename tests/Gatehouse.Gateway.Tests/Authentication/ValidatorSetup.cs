using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>A <see cref="JwtValidator"/> over one issuer, its <see cref="JwksCache"/>, a fake clock and captured logs.</summary>
internal sealed class ValidatorSetup : IAsyncDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    private ValidatorSetup(JwtIssuerConfig config, FakeTimeProvider time)
    {
        Time = time;
        Cache = new JwksCache("login", config, _http, time, Logs.CreateLogger<JwksCache>());
        Validator = new JwtValidator([new JwtIssuerModel("login", config, Cache, time)]);
    }

    public FakeTimeProvider Time { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    public JwksCache Cache { get; }

    public JwtValidator Validator { get; }

    public DateTimeOffset Now => Time.GetUtcNow();

    public static JwtIssuerConfig Config(Uri? url = null, string? file = null) => new()
    {
        Issuer = Jws.Issuer,
        Audiences = [Jws.Audience, "https://other.example.test"],
        JwksUrl = url?.ToString(),
        JwksFile = file,
        Algorithms = ["RS256", "PS256", "ES256"],
    };

    public static async Task<ValidatorSetup> StartAsync(JwtIssuerConfig config)
    {
        var setup = new ValidatorSetup(config, new FakeTimeProvider());
        await setup.Cache.StartAsync();
        return setup;
    }

    public async Task<JwtValidationResult> ValidateAsync(string token) => await Validator.ValidateAsync(token);

    public async Task<string> FailureAsync(string token)
    {
        var result = await Validator.ValidateAsync(token);
        Assert.False(result.Succeeded, "expected the token to be refused");
        return result.FailureCode!;
    }

    public async ValueTask DisposeAsync()
    {
        await Cache.DisposeAsync();
        _http.Dispose();
    }
}
