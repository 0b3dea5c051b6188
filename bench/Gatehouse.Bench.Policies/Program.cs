using System.Diagnostics;
using BenchmarkDotNet.Running;
using Gatehouse.Bench.Policies;

// Issue 23: the CPU cost of validating a 1 KB JSON body against its operation's schema (target: at most 20 µs),
// and of checking an HTTP Basic credential (the same for a right and a wrong password). Issue 19: formatting one
// access-log line (--filter '*AccessLog*').
//   dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --filter '*'
//   dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --filter '*' --job short   (a quick look)
//   dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --batches   (the validation methods in timed
//     batches of 2,000 calls, one thread: the fastest batch and the median; on a machine shared with other work the
//     fastest batch is the one least disturbed by it, where BenchmarkDotNet's mean is not)
if (args is ["--batches", ..])
{
    var bench = new ValidationBenchmarks();
    bench.SetupSchemaOnly();
    Batches("Validate1KbBody", () => bench.Validate1KbBody().GetAwaiter().GetResult());
    Batches("SchemaOnly", () => bench.SchemaOnly() ? 1 : 0);
    Batches("CompiledCheckOnly", () => bench.CompiledCheckOnly() ? 1 : 0);
    Batches("StrictParseOnly", bench.StrictParseOnly);
    Batches("ReadAndParseOnly", bench.ReadAndParseOnly);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ValidationBenchmarks).Assembly).Run(args);

void Batches(string name, Func<int> call)
{
    if (args.Length > 1 && args[1] != name)
    {
        return;
    }

    const int PerBatch = 2000;
    var sink = 0;
    for (var i = 0; i < 20_000; i++)
    {
        sink += call(); // warm-up: past tiered compilation
    }

    var times = new List<double>();
    for (var batch = 0; batch < 25; batch++)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < PerBatch; i++)
        {
            sink += call();
        }

        times.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / PerBatch);
    }

    times.Sort();
    Console.WriteLine($"{name,-18} fastest {times[0],7:F2} µs   median {times[times.Count / 2],7:F2} µs   ({sink % 2})");
}
