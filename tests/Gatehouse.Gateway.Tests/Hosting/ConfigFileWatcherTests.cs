using System.Collections.Concurrent;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>The config watcher's decisions, driven tick by tick.</summary>
public sealed class ConfigFileWatcherTests
{
    [Fact]
    public async Task HalfWrittenFile_IsNeverApplied_OnlyTheContentThatSettled()
    {
        var time = new FakeTimeProvider();
        await using var runtime = new GatewayRuntime(time, NullLoggerFactory.Instance);
        using var dir = new TempDirectory();
        var path = dir.Write("gatehouse.yaml", TestGateway.SimpleYaml("http://127.0.0.1:5997"));
        var loaded = ConfigLoader.LoadFile(path);
        Assert.Empty(runtime.Apply(loaded.Config!));
        // Not started: no file events and no timers; each CheckUnlessBusy() is one poll or debounce tick.
        using var watcher = new ConfigFileWatcher(path, loaded.Config!, null, runtime, time, NullLoggerFactory.Instance);
        var revisions = new ConcurrentQueue<long>();
        runtime.Applied += s => revisions.Enqueue(s.Revision);

        // A writer caught halfway: the services are written, the routes not yet. Valid YAML, and a different config.
        File.WriteAllText(path, "version: 1\nservices:\n  backend: { targets: [\"http://127.0.0.1:5998\"] }\n");
        watcher.CheckUnlessBusy();                 // seen once: not applied yet
        File.WriteAllText(path, TestGateway.SimpleYaml("http://127.0.0.1:5998"));
        watcher.CheckUnlessBusy();                 // changed again: still settling
        var beforeSettled = revisions.Count;
        watcher.CheckUnlessBusy();                 // the same content twice: applied

        Assert.Equal(0, beforeSettled);
        Assert.Equal([2L], revisions);
        Assert.Equal(2, runtime.Current.Revision);
        Assert.Single(runtime.Current.Config.Routes);
        Assert.Equal("http://127.0.0.1:5998", runtime.Current.Config.Services["backend"].Targets[0].Url);
    }
}
