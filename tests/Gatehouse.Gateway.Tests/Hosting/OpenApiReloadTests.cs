using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>Hot reload of a config whose operations come from an OpenAPI file, or whose values come from a given environment.</summary>
public sealed class OpenApiReloadTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gatehouse-reload-" + Guid.NewGuid().ToString("N"));
    private readonly GatewayRuntime _runtime = new(TimeProvider.System, NullLoggerFactory.Instance);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _runtime.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Spec(params string[] paths) => $$"""
        openapi: 3.0.3
        info: { title: t, version: "1" }
        paths:
        {{string.Join("\n", paths.Select(p => $"  {p}:\n    get: {{ tags: [t] }}"))}}
        """;

    private ConfigFileWatcher Watch(string configPath, Func<string, string?>? environment = null)
    {
        var loaded = ConfigLoader.LoadFile(configPath, environment);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Empty(_runtime.Apply(loaded.Config!));
        return new ConfigFileWatcher(configPath, loaded.Config!, environment, _runtime, TimeProvider.System, NullLoggerFactory.Instance);
    }

    [Fact]
    public void ImportedFile_Edited_ReloadsWithItsNewOperations_AndABrokenEditKeepsTheLastGood()
    {
        var spec = Path.Combine(_dir, "api.yaml");
        File.WriteAllText(spec, Spec("/a"));
        var config = Path.Combine(_dir, "gatehouse.yaml");
        File.WriteAllText(config, """
            version: 1
            services:
              api:
                targets: [http://127.0.0.1:5001]
                openapi: { file: api.yaml }
                publish: { basePath: /v1 }
            """);
        using var watcher = Watch(config);

        var unchanged = watcher.Check();
        File.WriteAllText(spec, Spec("/a", "/b"));
        var added = watcher.Check();
        var afterAdd = _runtime.Current;
        File.WriteAllText(spec, "openapi: 3.0.3\npaths: [oops");
        var broken = watcher.Check();

        Assert.False(unchanged);
        Assert.True(added);
        Assert.Equal(["api.getA", "api.getB"], afterAdd.Config.Routes.Keys);
        Assert.Equal("/v1/b", afterAdd.Config.Routes["api.getB"].Path);
        Assert.False(broken);
        Assert.Same(afterAdd, _runtime.Current);
    }

    [Fact]
    public void Reload_UsesTheEnvironmentTheHostWasGiven()
    {
        var config = Path.Combine(_dir, "gatehouse.yaml");
        File.WriteAllText(config, """
            version: 1
            services:
              api: { targets: ["${API_URL}"] }
            routes:
              all: { path: "/{**rest}", service: api }

            """);
        var environment = (string name) => name == "API_URL" ? "http://127.0.0.1:5999" : null;
        using var watcher = Watch(config, environment);

        File.AppendAllText(config, "  other: { path: /other, service: api }\n");
        var reloaded = watcher.Check();

        Assert.True(reloaded);
        Assert.Equal("http://127.0.0.1:5999", _runtime.Current.Config.Services["api"].Targets[0].Url);
        Assert.Equal(2, _runtime.Current.Config.Routes.Count);
    }
}
