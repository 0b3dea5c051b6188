using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Admin;

public sealed class AdminTokenTests
{
    [Fact]
    public async Task Resolve_FirstStart_GeneratesOnceAndStoresOnlyTheHash()
    {
        var path = Path.Combine(Path.GetTempPath(), "gatehouse-token-" + Guid.NewGuid().ToString("N") + ".db");
        try
        {
            await using (var store = await ConfigStores.OpenAsync(path, new FakeTime()))
            {
                var (hash, generated) = await AdminToken.ResolveAsync(store, null);
                Assert.StartsWith("gha_", generated, StringComparison.Ordinal);
                Assert.Equal(ApiKeyHash.Sha256Hex(generated!), hash);
                Assert.Equal(hash, await store.GetSettingAsync(AdminToken.SettingKey));

                var (again, none) = await AdminToken.ResolveAsync(store, null);
                Assert.Equal(hash, again);
                Assert.Null(none);

                var (fromEnvironment, notGenerated) = await AdminToken.ResolveAsync(store, "my-token");
                Assert.Equal(ApiKeyHash.Sha256Hex("my-token"), fromEnvironment);
                Assert.Null(notGenerated);
                Assert.Equal(hash, await store.GetSettingAsync(AdminToken.SettingKey));
            }

            SqliteConnection.ClearAllPools();
            Assert.DoesNotContain("gha_", System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(path)), StringComparison.Ordinal);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    [Theory]
    [InlineData("Bearer my-token", true)]
    [InlineData("bearer my-token", true)]
    [InlineData("Bearer my-token2", false)]
    [InlineData("Basic my-token", false)]
    [InlineData("my-token", false)]
    [InlineData(null, false)]
    public void Matches_ComparesTheBearerTokensHash(string? header, bool expected) =>
        Assert.Equal(expected, AdminToken.Matches(header, Convert.FromHexString(ApiKeyHash.Sha256Hex("my-token"))));
}
