namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// Tests that measure the whole process (allocations) or load it on purpose: xunit runs this collection
/// alone, after the parallel ones, so other tests neither disturb nor are disturbed by it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}
