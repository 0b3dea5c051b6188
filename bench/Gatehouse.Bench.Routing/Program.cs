using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Gatehouse.Bench.Routing.RouteTableBenchmarks).Assembly).Run(args);
