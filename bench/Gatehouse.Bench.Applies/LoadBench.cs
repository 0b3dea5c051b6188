using System.Diagnostics;
using Gatehouse.Management.Tests.ZeroDowntime;

namespace Gatehouse.Bench.Applies;

/// <summary>
/// p99 latency through the gateway without applies, with 50 applies spread over the window (one every window/50), and
/// with 50 applies back to back. 4 client loops on loopback; every response must be 200 from the backend.
/// </summary>
internal static class LoadBench
{
    private const int Warmup = 0, Quiet = 1, Paced = 2, BackToBack = 3;

    public static async Task<int> RunAsync(int rounds, TimeSpan window)
    {
        await using var h = await Harness.StartAsync();
        await h.PutOkAsync("/admin/services/backend", Service(h, 30));
        await h.PutOkAsync("/admin/routes/load", Route(0));
        var apply = 0;
        var failures = 0;
        Console.WriteLine($"4 client loops, windows of {window.TotalSeconds:F0} s; p50 / p99 in ms (requests)");
        Console.WriteLine("| round | without applies | 50 applies paced | 50 applies back to back (time) | p99 paced / without | failures |");
        Console.WriteLine("|--:|--:|--:|--:|--:|--:|");
        var ratios = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            await using var load = LoadLoop.Start(new Uri(h.GatewayUrl + "/load/x"), Harness.Body, 4, int.MaxValue, window * 4, phases: 4);
            await Task.Delay(TimeSpan.FromSeconds(3)); // new connections, JIT
            load.SetPhase(Quiet);
            await Task.Delay(window);
            load.SetPhase(Paced);
            var paced = Stopwatch.StartNew();
            for (var i = 0; i < 50; i++)
            {
                await ApplyAsync(h, ++apply);
                var next = window * (i + 1) / 50;
                if (next > paced.Elapsed)
                {
                    await Task.Delay(next - paced.Elapsed);
                }
            }

            load.SetPhase(BackToBack);
            var burst = Stopwatch.StartNew();
            for (var i = 0; i < 50; i++)
            {
                await ApplyAsync(h, ++apply);
            }

            burst.Stop();
            await load.StopAsync();
            failures += load.Failures.Count;
            foreach (var failure in load.Failures.Take(5))
            {
                Console.Error.WriteLine(failure);
            }

            var ratio = load.Percentile(Paced, 99) / load.Percentile(Quiet, 99);
            ratios.Add(ratio);
            Console.WriteLine($"| {round} | {Cell(load, Quiet)} | {Cell(load, Paced)} | {Cell(load, BackToBack)} ({burst.ElapsedMilliseconds} ms) | {ratio:F2} | {load.Failures.Count} |");
        }

        ratios.Sort();
        Console.WriteLine($"median p99 ratio (paced / without): {ratios[ratios.Count / 2]:F2}; failed requests: {failures}");
        return failures == 0 ? 0 : 1;
    }

    private static string Cell(LoadLoop load, int phase) => $"{load.Percentile(phase, 50):F2} / **{load.Percentile(phase, 99):F2}** ({load.Count(phase)})";

    // Like the test: route changes, new routes, and every tenth a service change, which retires its upstream.
    private static Task ApplyAsync(Harness h, int i) => (i % 10) switch
    {
        0 => h.PutOkAsync("/admin/services/backend", Service(h, 30 + (i % 100))),
        var odd when odd % 2 == 1 => h.PutOkAsync($"/admin/routes/extra-{i % 500}", $$"""{"path":"/extra/{{i}}/{**rest}","service":"backend"}"""),
        _ => h.PutOkAsync("/admin/routes/load", Route(i)),
    };

    private static string Service(Harness h, int timeoutSeconds) => $$"""{"targets":["{{h.BackendUrl}}"],"timeout":"{{timeoutSeconds}}s"}""";

    private static string Route(int i) => $$"""{"path":"/load/{**rest}","service":"backend","timeout":"{{10 + i}}s"}""";
}
