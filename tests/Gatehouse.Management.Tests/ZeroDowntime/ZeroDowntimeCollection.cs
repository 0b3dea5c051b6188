namespace Gatehouse.Management.Tests.ZeroDowntime;

/// <summary>
/// Run alone, after the parallel tests: the memory test reads the whole process's managed heap, and the load test's
/// latencies mean something only without other tests competing for the two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ZeroDowntimeCollection
{
    public const string Name = "zero-downtime";
}
