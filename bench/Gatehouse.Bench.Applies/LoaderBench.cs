using System.Diagnostics;
using Gatehouse.Model.Loading;

namespace Gatehouse.Bench.Applies;

/// <summary>
/// <c>ConfigLoader.Load</c> of the scale document (what every apply does), through the JSON path and through the YAML
/// parser (the same text behind a comment line, which only YAML reads), alternately in one process. Reports wall time
/// and this process's CPU time per load, which a busy machine disturbs less.
/// </summary>
internal static class LoaderBench
{
    public static int Run(int routes, int applications, int repeats)
    {
        var json = ScaleBench.Document("http://127.0.0.1:9", routes, applications, changed: -1);
        var yaml = "# read by the YAML parser\n" + json;
        Console.WriteLine($"config: {routes:N0} routes, {applications:N0} applications, {json.Length / 1e6:F1} MB of JSON");
        var results = new Dictionary<string, List<(double Wall, double Cpu)>> { ["json"] = [], ["yaml"] = [] };
        var allocated = new Dictionary<string, long>();
        for (var i = 0; i <= repeats; i++)
        {
            foreach (var (name, text) in new[] { ("json", json), ("yaml", yaml) })
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var bytes = GC.GetTotalAllocatedBytes(precise: true);
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                var loaded = ConfigLoader.Load(text, ".", _ => null);
                var elapsed = wall.Elapsed.TotalMilliseconds;
                var used = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
                allocated[name] = GC.GetTotalAllocatedBytes(precise: true) - bytes;
                if (!loaded.IsValid)
                {
                    throw new InvalidOperationException(string.Join("; ", loaded.Errors.Take(5)));
                }

                if (i > 0)
                {
                    results[name].Add((elapsed, used));
                }
            }
        }

        foreach (var (name, list) in results)
        {
            var walls = list.Select(r => r.Wall).Order().ToList();
            var cpus = list.Select(r => r.Cpu).Order().ToList();
            Console.WriteLine($"load via {name}: wall median {walls[walls.Count / 2]:F0} ms (min {walls[0]:F0}), CPU median {cpus[cpus.Count / 2]:F0} ms (min {cpus[0]:F0}) over {list.Count}, {allocated[name] / 1e6:F0} MB allocated per load");
        }

        return 0;
    }
}
