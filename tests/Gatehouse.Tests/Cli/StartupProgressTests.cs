using Gatehouse.Cli.Commands;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Tests.Cli;

/// <summary>A slow start names the step it waits for, every interval, and says nothing once it has ended.</summary>
public sealed class StartupProgressTests
{
    [Fact]
    public void SlowStart_NamesTheStepItWaitsFor_EveryInterval_AndNothingAfterItEnds()
    {
        var time = new FakeTimeProvider();
        var error = new StringWriter();
        using var progress = new StartupProgress(error, "opening the store", time, TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("", error.ToString());

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("Gatehouse is still starting after 10 s: opening the store." + Environment.NewLine, error.ToString());

        progress.Step("starting the admin API");
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.EndsWith("Gatehouse is still starting after 20 s: starting the admin API." + Environment.NewLine, error.ToString());

        progress.Dispose();
        var said = error.ToString();
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(said, error.ToString());
    }

    [Fact]
    public void QuickStart_SaysNothing()
    {
        var time = new FakeTimeProvider();
        var error = new StringWriter();
        using (new StartupProgress(error, "opening the store", time, TimeSpan.FromSeconds(10)))
        {
            time.Advance(TimeSpan.FromSeconds(3));
        }

        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("", error.ToString());
    }
}
