using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Gatehouse.Browser.Tests;

/// <summary>
/// One Chromium (Debian's, driven by Playwright) and one <c>gatehouse demo</c> for every browser test: starting either
/// costs seconds. Screenshots go to .artifacts/test-results/Gatehouse.Browser.Tests/screenshots.
/// </summary>
public sealed partial class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private GatehouseProcess? _demo;

    public IBrowser Browser { get; private set; } = null!;

    public string GatewayUrl { get; private set; } = "";

    public string AdminUrl { get; private set; } = "";

    public string PortalUrl { get; private set; } = "";

    public string AdminToken { get; private set; } = "";

    public string DemoEmail { get; private set; } = "";

    public string DemoPassword { get; private set; } = "";

    public static string Screenshots { get; } = Path.Combine(GatehouseProcess.RepositoryRoot, ".artifacts", "test-results", "Gatehouse.Browser.Tests", "screenshots");

    public async Task InitializeAsync()
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException("Debian's chromium is missing (/usr/bin/chromium): 'apt-get install chromium' (./test.sh does this).");
        }

        Directory.CreateDirectory(Screenshots);
        _demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        GatewayUrl = await _demo.WaitForOutputAsync(Line(@"gateway\s+(http://\S+)"), TimeSpan.FromSeconds(90));
        PortalUrl = await _demo.WaitForOutputAsync(Line(@"^demo portal: (http://\S+)$"), TimeSpan.FromSeconds(60));
        var login = Line(@"^demo portal login: (\S+) (\S+)$").Match(await WaitAsync(_demo, "demo portal login:"));
        (DemoEmail, DemoPassword) = (login.Groups[1].Value, login.Groups[2].Value);
        AdminUrl = Line(@"admin API (http://\S+)").Match(_demo.StandardOutput).Groups[1].Value;
        AdminToken = Line(@"^demo admin token: (\S+)$").Match(_demo.StandardOutput).Groups[1].Value;

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    private static async Task<string> WaitAsync(GatehouseProcess process, string text)
    {
        await process.WaitForOutputAsync(new Regex(Regex.Escape(text)), TimeSpan.FromSeconds(60));
        return process.StandardOutput;
    }

    private static Regex Line(string pattern) => new(pattern, RegexOptions.Multiline);

    /// <summary>A fresh context (its own cookies and storage), failing the test on any Content-Security-Policy violation.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Violations)> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (violations)
                {
                    violations.Add(message.Text);
                }
            }
        };
        return (context, page, violations);
    }

    /// <summary>
    /// Runs axe-core on the page (serious or critical violations fail) and saves a screenshot. On the interactive-docs
    /// pages the region Scalar renders (#docs) is left out: its violations are the package's, reported in docs/portal.md,
    /// not the portal's; the rest of the page is checked.
    /// </summary>
    /// <summary>
    /// Waits up to 60 s for the page to be at <paramref name="url"/> (<c>**</c> matches anything), by its URL alone; when it
    /// does not get there, the failure says where it is and what it shows.
    /// </summary>
    /// <remarks>
    /// Not <c>WaitForURLAsync</c> with <c>WaitUntil = Commit</c>: when the page is at the URL already, Playwright for .NET
    /// waits for its load state, and maps Commit to none, so to the load event, which a CI run under load twice did not
    /// see (the page on screen, the network idle) and waited 60 s for.
    /// </remarks>
    public static async Task ArriveAsync(IPage page, string url)
    {
        var pattern = new Regex("^" + Regex.Escape(url).Replace(@"\*\*", ".*", StringComparison.Ordinal) + "$");
        try
        {
            await Assertions.Expect(page).ToHaveURLAsync(pattern, new() { Timeout = 60_000 });
        }
        catch (PlaywrightException)
        {
            var text = await page.InnerTextAsync("body");
            Assert.Fail($"the page did not reach {url} within 60 s: it is at {page.Url}, showing: {(text.Length > 2000 ? text[..2000] : text)}");
        }
    }

    public static async Task CheckAsync(IPage page, string name)
    {
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
        var docs = await page.Locator("#docs").CountAsync() > 0;
        var result = docs
            ? await page.RunAxe(new Deque.AxeCore.Commons.AxeRunContext { Exclude = [new Deque.AxeCore.Commons.AxeSelector("#docs")] })
            : await page.RunAxe();
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(bad.Count == 0, $"{name}: " + string.Join("; ", bad.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_demo is not null)
        {
            await _demo.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
