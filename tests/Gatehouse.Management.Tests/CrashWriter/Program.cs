// Commits in a tight loop until it is killed: the crash tests SIGKILL it mid-stream and check the store.
// Every revision rewrites all resources with the revision's number, so a partial revision is visible.
using System.Globalization;
using Gatehouse.Management.Stores;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: CrashWriter <store connection> <resources per revision>");
    return 2;
}

var count = int.Parse(args[1], CultureInfo.InvariantCulture);
await using var store = await ConfigStores.OpenAsync(args[0], TimeProvider.System);
while (true)
{
    var current = await store.CurrentRevisionAsync();
    var next = current + 1;
    var changes = Enumerable.Range(0, count)
        .Select(i => new ResourceChange("application", $"app-{i}", $$"""{"revision":{{next}},"index":{{i}}}"""))
        .ToList();
    var result = await store.CommitAsync(changes, current, "crash-writer", $"revision {next}");
    Console.WriteLine($"committed {result.Revision}");
}
