using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Gatehouse.Bench.Portal;

/// <summary>
/// The console's searches at N accounts and N applications (issue 18: a page in at most 50 ms at p95): signed in with the
/// admin token, sequential GETs of each search page as a browser without JavaScript asks for it, a later page reached by
/// following the pages' own "Next page" links.
/// </summary>
internal static partial class ConsoleSearchTimes
{
    public static async Task RunAsync(int n, int repeats)
    {
        await using var harness = await Harness.StartAsync(n, (db, key) => ConsolePreload.AccountsAndApplications(db, n, key), ConsolePreload.Plans);
        Console.WriteLine($"store: {n:N0} accounts and {n:N0} applications preloaded in {harness.PreloadMs:N0} ms; console {harness.AdminUrl}/console");
        using var console = Burst.Client(harness.AdminUrl);
        await Burst.SubmitAsync(console, "/console/login", "/console/login", CancellationToken.None, ("email", ""), ("password", Harness.AdminToken));

        var some = ConsolePreload.Email(26 * 17); // an "ada" address: an account with one application
        (string What, string Path, int Next)[] searches =
        [
            ("accounts, address prefix", "/console/accounts?email=ada", 0),
            ("accounts, prefix + state", "/console/accounts?email=ada&state=pending", 0),
            ("accounts, prefix, page 10", "/console/accounts?email=ada", 9),
            ("accounts, prefix + state, page 2", "/console/accounts?email=ada&state=pending", 1),
            ("accounts, prefix + state, page 10", "/console/accounts?email=ada&state=active", 9),
            ("accounts, state, page 10", "/console/accounts?state=pending", 9),
            ("applications, plan", "/console/applications?plan=wholesale", 0),
            ("applications, plan + state", "/console/applications?plan=internal&state=pending", 0),
            ("applications, plan + state, page 3", "/console/applications?plan=retail&state=suspended", 2),
            ("applications, title prefix", "/console/applications?title=shop", 0),
            ("applications, title prefix, page 10", "/console/applications?title=s", 9),
            ("applications, account", "/console/applications?account=" + Uri.EscapeDataString(some), 0),
        ];
        // Each page's address, a later one by following the pages' links; then every page 20 times unmeasured, so that
        // the first pages timed do not carry the console's first compilations (the accounts' pages came out 2-3 times
        // slower than their own later pages without it).
        var paths = new List<string>();
        foreach (var (what, start, next) in searches)
        {
            var path = start;
            for (var page = 0; page < next; page++)
            {
                path = NextPage(await console.GetStringAsync(path)) ?? throw new InvalidOperationException($"{what}: no page {page + 2} after {path}");
            }

            paths.Add(path);
        }

        for (var i = 0; i < 20; i++)
        {
            foreach (var path in paths)
            {
                await console.GetStringAsync(path);
            }
        }

        Console.WriteLine($"{"search",-38} {"rows",5} {"p50 ms",8} {"p95 ms",8} {"max ms",8}   ({repeats} sequential GETs each, after 20 of every page unmeasured)");
        foreach (var ((what, _, _), path) in searches.Zip(paths))
        {
            var times = new List<double>();
            var rows = 0;
            for (var i = 0; i < repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await console.GetAsync(path);
                var html = await response.Content.ReadAsStringAsync();
                var elapsed = clock.Elapsed.TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"{what}: GET {path} answered {(int)response.StatusCode}");
                }

                times.Add(elapsed);

                rows = Row().Count(html);
            }

            var sorted = times.Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what,-38} {rows,5} {Pct(sorted, 0.5),8:F1} {Pct(sorted, 0.95),8:F1} {sorted[^1],8:F1}   {path}"));
        }
    }

    private static double Pct(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    // The page's "Next page" link, its href decoded as a browser follows it.
    private static string? NextPage(string html) => NextLink().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;

    [GeneratedRegex("href=\"([^\"]+)\"[^>]*>Next page</a>")]
    private static partial Regex NextLink();

    // A row of the searched table: both tables show the account's id in a cell of its own.
    [GeneratedRegex("<td>acc-bench[0-9]+</td>")]
    private static partial Regex Row();
}
