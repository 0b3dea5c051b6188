using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>
/// The store's contract, run against each database by a concrete subclass (never against a fake):
/// every test gets a fresh, empty store.
/// </summary>
public abstract partial class ConfigStoreTests : IAsyncLifetime
{
    private readonly List<IConfigStore> _opened = [];

    protected FakeTime Clock { get; } = new();

    /// <summary>The connection string of this test's store.</summary>
    protected string Connection { get; private set; } = "";

    protected IConfigStore Store { get; private set; } = null!;

    /// <summary>Creates an empty database and returns how to reach it.</summary>
    protected abstract Task<string> CreateEmptyStoreAsync();

    /// <summary>Runs SQL on the store's database directly, bypassing the store.</summary>
    protected abstract Task ExecuteSqlAsync(string sql);

    /// <summary>The first column of the first row of <paramref name="sql"/>, as a number (a count).</summary>
    protected abstract Task<long> CountSqlAsync(string sql);

    public async Task InitializeAsync()
    {
        Connection = await CreateEmptyStoreAsync();
        Store = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
    }

    /// <summary>Opens another instance on the same database (disposed with the test).</summary>
    protected async Task<IConfigStore> OpenAsync(TimeProvider? clock = null)
    {
        var store = await ConfigStores.OpenAsync(Connection, clock ?? Clock);
        _opened.Add(store);
        return store;
    }

    protected static ResourceChange Set(string kind, string name, string body) => new(kind, name, body);

    protected static ResourceChange Delete(string kind, string name) => new(kind, name, null);

    [Fact]
    public async Task EmptyStore_Read_HasRevisionZeroAndNoResources()
    {
        Assert.Equal(0, await Store.CurrentRevisionAsync());
        Assert.Empty(await Store.ReadAsync());
        Assert.Empty(await Store.ReadAsync(0));
        Assert.Null(await Store.GetAsync("plan", "retail"));
        Assert.Empty(await Store.ListRevisionsAsync());
        Assert.Empty(await Store.ListAuditAsync());
    }

    [Fact]
    public async Task Commit_OnExpectedRevision_CreatesRevisionWithEveryResource()
    {
        var result = await Store.CommitAsync(
            [Set("plan", "retail", """{"rate": 10}"""), Set("plan", "wholesale", """{"rate": 100}"""), Set("service", "users", "{}")],
            expectedRevision: 0,
            "alice",
            "first plans");

        Assert.Equal(new CommitResult(false, true, 1), result);
        Assert.Equal(1, await Store.CurrentRevisionAsync());
        Assert.Equal(
            [new("plan", "retail", """{"rate": 10}""", 1), new("plan", "wholesale", """{"rate": 100}""", 1), new("service", "users", "{}", 1)],
            await Store.ReadAsync());
        Assert.Equal(new StoredResource("plan", "retail", """{"rate": 10}""", 1), await Store.GetAsync("plan", "retail"));
        var revision = Assert.Single(await Store.ListRevisionsAsync());
        Assert.Equal(new RevisionInfo(1, Clock.GetUtcNow(), "alice", "first plans"), revision);
    }

    [Fact]
    public async Task Commit_OnStaleRevision_ConflictsAndWritesNothing()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");

        var result = await Store.CommitAsync([Set("plan", "retail", "2"), Set("plan", "gold", "3")], 0, "bob", "stale");

        Assert.Equal(new CommitResult(true, false, 1), result);
        Assert.Equal([new("plan", "retail", "1", 1)], await Store.ReadAsync());
        Assert.Single(await Store.ListRevisionsAsync());
        Assert.Single(await Store.ListAuditAsync());
    }

    [Fact]
    public async Task Commit_OnlyUnchangedBodies_CreatesNoRevision()
    {
        await Store.CommitAsync([Set("plan", "retail", """{"a":1}"""), Delete("plan", "never-existed")], 0, "alice", "one");

        var result = await Store.CommitAsync([Set("plan", "retail", """{"a":1}"""), Delete("plan", "never-existed")], 1, "bob", "again");

        Assert.Equal(new CommitResult(false, false, 1), result);
        Assert.Equal(1, await Store.CurrentRevisionAsync());
        Assert.Single(await Store.ListAuditAsync());
    }

    [Fact]
    public async Task Commit_SomeUnchangedBodies_RecordsOnlyTheChangedOnes()
    {
        await Store.CommitAsync([Set("plan", "a", "1"), Set("plan", "b", "2")], 0, "alice", "one");

        var result = await Store.CommitAsync([Set("plan", "a", "1"), Set("plan", "b", "20")], 1, "alice", "two");

        Assert.Equal(2, result.Revision);
        var audit = await Store.ListAuditAsync();
        Assert.Equal(3, audit.Count);
        Assert.Equal(("update", "b", "2", "20"), (audit[0].Action, audit[0].Name, audit[0].Before, audit[0].After));
        // The unchanged resource keeps its original row: it still says revision 1.
        Assert.Equal(1, (await Store.GetAsync("plan", "a"))!.Revision);
    }

    [Fact]
    public async Task UpdateAndDelete_OldRevisions_StayReadableAsTheyWere()
    {
        await Store.CommitAsync([Set("plan", "retail", "1"), Set("plan", "gold", "10")], 0, "alice", "one");
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "alice", "two");
        await Store.CommitAsync([Delete("plan", "gold"), Set("plan", "silver", "5")], 2, "alice", "three");

        Assert.Equal([new("plan", "gold", "10", 1), new("plan", "retail", "1", 1)], await Store.ReadAsync(1));
        Assert.Equal([new("plan", "gold", "10", 1), new("plan", "retail", "2", 2)], await Store.ReadAsync(2));
        Assert.Equal([new("plan", "retail", "2", 2), new("plan", "silver", "5", 3)], await Store.ReadAsync(3));
        Assert.Equal(new StoredResource("plan", "gold", "10", 1), await Store.GetAsync("plan", "gold", 2));
        Assert.Null(await Store.GetAsync("plan", "gold"));
        Assert.Null(await Store.GetAsync("plan", "gold", 3));
        Assert.Null(await Store.GetAsync("plan", "silver", 2));
    }

    [Fact]
    public async Task DeleteThenCreate_SameName_IsANewResourceFromThatRevision()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");
        await Store.CommitAsync([Delete("plan", "retail")], 1, "alice", "two");
        await Store.CommitAsync([Set("plan", "retail", "3")], 2, "alice", "three");

        Assert.Equal(new StoredResource("plan", "retail", "3", 3), await Store.GetAsync("plan", "retail"));
        Assert.Null(await Store.GetAsync("plan", "retail", 2));
        Assert.Equal("1", (await Store.GetAsync("plan", "retail", 1))!.Body);
        Assert.Equal(["create", "delete", "create"], (await Store.ListAuditAsync()).Reverse().Select(a => a.Action));
    }

    [Fact]
    public async Task Commit_Audit_RecordsActorActionAndBothBodies()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");
        Clock.Advance(TimeSpan.FromMinutes(5));
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "bob", "two");
        await Store.CommitAsync([Delete("plan", "retail")], 2, "carol", "three");

        var audit = await Store.ListAuditAsync();

        Assert.Equal(
            [("carol", "delete", 3L, "2", null), ("bob", "update", 2L, "1", "2"), ("alice", "create", 1L, null, "1")],
            audit.Select(a => (a.Actor, a.Action, a.Revision, a.Before, a.After)));
        Assert.All(audit, a => Assert.Equal(("plan", "retail"), (a.Kind, a.Name)));
        Assert.Equal(Clock.GetUtcNow(), audit[0].At);
        Assert.Equal(Clock.GetUtcNow() - TimeSpan.FromMinutes(5), audit[2].At);
    }

    [Theory]
    [InlineData("it's \"quoted\"")]
    [InlineData("'; DROP TABLE resources; --")]
    [InlineData("名前 🚀")]
    [InlineData("back\\slash %_ ? $1 @name :name")]
    public async Task Commit_HostileOrUnicodeNames_AreStoredAndReturnedLiterally(string text)
    {
        var body = $$"""{ "note" : "{{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}}" }""";

        await Store.CommitAsync([Set(text, text, body)], 0, text, text);

        Assert.Equal([new(text, text, body, 1)], await Store.ReadAsync());
        Assert.Equal(body, (await Store.GetAsync(text, text))!.Body);
        Assert.Equal((text, text), ((await Store.ListRevisionsAsync())[0].Actor, (await Store.ListRevisionsAsync())[0].Summary));
        await Store.SetSettingAsync(text, text);
        Assert.Equal(text, await Store.GetSettingAsync(text));
        await Store.CommitAsync([Delete(text, text)], 1, text, text);
        Assert.Empty(await Store.ReadAsync());
    }

    [Fact]
    public async Task Commit_Body_IsReturnedByteForByteNotNormalized()
    {
        const string body = "{ \"b\" : 2,\n  \"a\":1.50 }";

        await Store.CommitAsync([Set("plan", "retail", body)], 0, "alice", "one");

        Assert.Equal(body, (await Store.GetAsync("plan", "retail"))!.Body);
    }

    [Fact]
    public async Task Commit_InvalidChanges_AreRejectedBeforeAnyWrite()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitAsync([Set("plan", "a", "1"), Set("plan", "a", "2")], 0, "a", "dup"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitAsync([Set("plan", "a", "{not json")], 0, "a", "bad"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitAsync([Set("", "a", "1")], 0, "a", "no kind"));

        Assert.Equal(0, await Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Read_RevisionThatDoesNotExist_Throws()
    {
        await Store.CommitAsync([Set("plan", "a", "1")], 0, "alice", "one");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ReadAsync(2));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ReadAsync(-1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.DiffAsync(0, 5));
    }
}
