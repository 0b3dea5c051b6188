using BenchmarkDotNet.Running;

// Issue 23: the CPU cost of validating a 1 KB JSON body against its operation's schema (target: at most 20 µs),
// and of checking an HTTP Basic credential (the same for a right and a wrong password).
//   dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --filter '*'
//   dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --filter '*' --job short   (a quick look)
BenchmarkSwitcher.FromAssembly(typeof(Gatehouse.Bench.Policies.ValidationBenchmarks).Assembly).Run(args);
