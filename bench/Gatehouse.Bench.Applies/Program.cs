using System.Globalization;
using Gatehouse.Bench.Applies;

// dotnet run -c Release --project bench/Gatehouse.Bench.Applies -- load [rounds=3] [window-seconds=10]
// dotnet run -c Release --project bench/Gatehouse.Bench.Applies -- scale [routes=10000] [applications=100000] [repeats=3]
// dotnet run -c Release --project bench/Gatehouse.Bench.Applies -- loader [routes=10000] [applications=100000] [repeats=5]
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

return args.FirstOrDefault() switch
{
    "load" => await LoadBench.RunAsync(Arg(1, 3), TimeSpan.FromSeconds(Arg(2, 10))),
    "scale" => await ScaleBench.RunAsync(Arg(1, 10_000), Arg(2, 100_000), Arg(3, 3)),
    "loader" => LoaderBench.Run(Arg(1, 10_000), Arg(2, 100_000), Arg(3, 5)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Gatehouse.Bench.Applies load [rounds] [window-seconds] | scale [routes] [applications] [repeats] | loader [routes] [applications] [repeats]");
    return 2;
}
