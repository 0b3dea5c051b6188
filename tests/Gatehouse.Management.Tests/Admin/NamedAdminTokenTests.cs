using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>
/// Named admin tokens (docs/admin-api.md): issued by the admin token with a scope and an optional expiry, a read token
/// reads and changes nothing, a write token changes the config and is named in the audit log, neither manages tokens,
/// and a revoked, replaced or expired one is refused at its next request, on another admin API of the same store too.
/// </summary>
public abstract class NamedAdminTokenTests
{
    protected abstract Task<string?> ConnectionAsync();

    [Fact]
    public async Task ReadAndWriteTokens_DoWhatTheirScopeSays_AndNoMore_AndTheAuditLogNamesThem()
    {
        await using var admin = await AdminHarness.StartAsync(await ConnectionAsync());
        var reader = await IssueAsync(admin, """{"name":"dashboard","scope":"read"}""");
        var writer = await IssueAsync(admin, """{"name":"ci","scope":"write"}""");
        Assert.StartsWith("gha_", reader, StringComparison.Ordinal);

        // Read: GET works; a change is 403 and changes nothing.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(admin, reader, HttpMethod.Get, "/admin/services"));
        var refused = await SendAsync(admin, reader, HttpMethod.Put, "/admin/services/s", """{"targets":["http://127.0.0.1:9"]}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("problem:admin-forbidden\"", refused.Body, StringComparison.Ordinal);
        Assert.Contains("scope read", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(admin, reader, HttpMethod.Get, "/admin/services/s"));

        // Write: a change is made, and the audit log says which token made it.
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(admin, writer, HttpMethod.Put, "/admin/services/s", """{"targets":["http://127.0.0.1:9"]}""")).Status);
        var audit = await admin.Store.ListAuditAsync();
        Assert.Equal("admin-api:ci", Assert.Single(audit).Actor);

        // Neither manages tokens: listing, issuing and revoking are the admin token's.
        foreach (var token in new[] { reader, writer })
        {
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(admin, token, HttpMethod.Get, "/admin/tokens"));
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(admin, token, HttpMethod.Post, "/admin/tokens", """{"name":"more","scope":"write"}""")).Status);
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(admin, token, HttpMethod.Delete, "/admin/tokens/ci"));
        }

        // The list shows names, scopes and expiry, never a token.
        var listed = await admin.Client.GetStringAsync("/admin/tokens");
        var items = JsonNode.Parse(listed)!["items"]!.AsArray();
        Assert.Equal(["ci:write", "dashboard:read"], items.Select(i => $"{i!["name"]}:{i["scope"]}"));
        Assert.DoesNotContain(reader, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(writer, listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoked_Replaced_AndExpiredTokens_AreRefused_OnEveryAdminApiOfTheStore()
    {
        await using var admin = await AdminHarness.StartAsync(await ConnectionAsync(), now: DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var ci = await IssueAsync(admin, """{"name":"ci","scope":"write"}""");
        var temporary = await IssueAsync(admin, """{"name":"temp","scope":"read","expires":"2026-12-06T11:00:00Z"}""");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(admin, temporary, HttpMethod.Get, "/admin/services"));

        // Expired: 401, saying so.
        admin.Time.Advance(TimeSpan.FromHours(1));
        var expired = await SendAsync(admin, temporary, HttpMethod.Get, "/admin/services");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("'temp' expired at 2026-12-06 11:00:00Z", expired.Body, StringComparison.Ordinal);
        var listed = JsonNode.Parse(await admin.Client.GetStringAsync("/admin/tokens"))!["items"]!.AsArray();
        Assert.True((bool)listed.Single(i => (string)i!["name"]! == "temp")!["expired"]!);

        // Issued again under its name: the old token stops, the new one works.
        var rotated = await IssueAsync(admin, """{"name":"ci","scope":"write"}""");
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(admin, ci, HttpMethod.Get, "/admin/services"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(admin, rotated, HttpMethod.Get, "/admin/services"));

        // Revoked: refused at once, also by another admin API on the same store (another control-plane node).
        await using var other = admin.SqlitePath is { } path ? await AdminHarness.StartAsync("sqlite:" + path) : null;
        if (other is not null)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(other, rotated, HttpMethod.Get, "/admin/services"));
        }

        using var revoke = await admin.Client.DeleteAsync("/admin/tokens/ci");
        Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(admin, rotated, HttpMethod.Get, "/admin/services"));
        if (other is not null)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(other, rotated, HttpMethod.Get, "/admin/services"));
        }

        using var again = await admin.Client.DeleteAsync("/admin/tokens/ci");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    /// <summary>
    /// Who was given the admin API or the console, and by whom: issuing, replacing and revoking tokens and making,
    /// changing and deleting console users are in the change log (GET /admin/portal/changes), without a token or a hash.
    /// </summary>
    [Fact]
    public async Task TokensAndConsoleUsers_GivenAndTaken_AreInTheChangeLog_WithoutSecrets()
    {
        await using var admin = await AdminHarness.StartAsync(await ConnectionAsync());
        var first = await IssueAsync(admin, """{"name":"ci","scope":"write"}""");
        var second = await IssueAsync(admin, """{"name":"ci","scope":"read","expires":"2099-01-01T00:00:00Z"}""");
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(admin, AdminHarness.Token, HttpMethod.Delete, "/admin/tokens/ci")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(admin, AdminHarness.Token, HttpMethod.Delete, "/admin/tokens/ci")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(admin, AdminHarness.Token, HttpMethod.Put, "/admin/users/ops@example.com", """{"password":"a console pass phrase","role":"viewer"}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(admin, AdminHarness.Token, HttpMethod.Put, "/admin/users/ops@example.com", """{"password":"a console pass phrase","role":"admin"}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(admin, AdminHarness.Token, HttpMethod.Delete, "/admin/users/ops@example.com")).Status);

        var changes = await admin.Client.GetStringAsync("/admin/portal/changes");
        var items = JsonNode.Parse(changes)!["items"]!.AsArray().Reverse().ToList();
        Assert.Equal(
            ["admin-api create admin-token ci", "admin-api replace admin-token ci", "admin-api revoke admin-token ci",
             "admin-api create console-user ops@example.com", "admin-api update console-user ops@example.com", "admin-api delete console-user ops@example.com"],
            items.Select(i => $"{i!["actor"]} {i["action"]} {i["kind"]} {i["name"]}"));
        Assert.Equal(("write", "read"), ((string)items[1]!["before"]!["scope"]!, (string)items[1]!["after"]!["scope"]!));
        Assert.Equal(("viewer", "admin", true), ((string)items[4]!["before"]!["role"]!, (string)items[4]!["after"]!["role"]!, (bool)items[4]!["after"]!["passwordChanged"]!));
        Assert.DoesNotContain(first, changes, StringComparison.Ordinal);
        Assert.DoesNotContain(second, changes, StringComparison.Ordinal);
        Assert.DoesNotContain("AQAAAA", changes, StringComparison.Ordinal); // a PasswordHasher hash
    }

    /// <summary>Registrations take the admin token or a service's token; a named write token acts as the admin token there, a read token may not register.</summary>
    [Fact]
    public async Task Registrations_TakeANamedWriteToken_NotAReadOne()
    {
        await using var admin = await AdminHarness.StartAsync(await ConnectionAsync());
        await admin.PutOkAsync("/admin/services/users", $$$"""{"registration":{"tokenSha256":"{{{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("ghr_users")}}}","ttl":"30s","allowedNetworks":["127.0.0.0/8"]}}""");
        var writer = await IssueAsync(admin, """{"name":"deployer","scope":"write"}""");
        var reader = await IssueAsync(admin, """{"name":"viewer","scope":"read"}""");
        const string Body = """{"url":"http://127.0.0.1:7001"}""";

        var registered = await SendAsync(admin, writer, HttpMethod.Put, "/admin/services/users/registrations", Body);
        Assert.True(registered.Status == HttpStatusCode.OK, registered.Body);
        var refused = await SendAsync(admin, reader, HttpMethod.Put, "/admin/services/users/registrations", Body);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("scope read", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(admin, "gha_not-a-token", HttpMethod.Put, "/admin/services/users/registrations", Body)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(admin, writer, HttpMethod.Delete, "/admin/services/users/registrations?url=http://127.0.0.1:7001")).Status);
    }

    [Theory]
    [InlineData("""{"scope":"read"}""", "'name' is required")]
    [InlineData("""{"name":"a b","scope":"read"}""", "'name' is required")]
    [InlineData("""{"name":"x"}""", "'scope' is required")]
    [InlineData("""{"name":"x","scope":"admin"}""", "'scope' is required")]
    [InlineData("""{"name":"x","scope":"read","expires":"2020-01-01T00:00:00Z"}""", "'expires', when given, is a time in the future")]
    [InlineData("""{"name":"x","scope":"read","expires":"soon"}""", "'expires', when given, is a time in the future")]
    public async Task ABadRequestForAToken_IsA400_ThatSaysWhatToFix_AndIssuesNothing(string body, string says)
    {
        await using var admin = await AdminHarness.StartAsync(await ConnectionAsync());
        using var response = await admin.Client.PostAsync("/admin/tokens", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(says, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await admin.Store.ListAdminTokensAsync());
    }

    private static async Task<string> IssueAsync(AdminHarness admin, string body)
    {
        using var response = await admin.Client.PostAsync("/admin/tokens", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return (string)JsonNode.Parse(text)!["token"]!;
    }

    private static async Task<HttpStatusCode> StatusAsync(AdminHarness admin, string token, HttpMethod method, string path) =>
        (await SendAsync(admin, token, method, path)).Status;

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(AdminHarness admin, string token, HttpMethod method, string path, string? json = null)
    {
        using var client = new HttpClient { BaseAddress = admin.Client.BaseAddress };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

/// <summary>Named admin tokens on SQLite.</summary>
public sealed class SqliteNamedAdminTokenTests : NamedAdminTokenTests
{
    protected override Task<string?> ConnectionAsync() => Task.FromResult<string?>(null);
}

/// <summary>Named admin tokens on PostgreSQL, a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresNamedAdminTokenTests(PostgresCluster cluster) : NamedAdminTokenTests
{
    protected override async Task<string?> ConnectionAsync() => await cluster.CreateDatabaseAsync();
}
