using System.Net;
using System.Text;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Changes made through the admin API reach a real running gateway (GatewayHost) in front of a real backend.</summary>
public sealed class AdminGatewayTests
{
    [Fact]
    public async Task PutRoute_ThroughTheApi_IsServedByTheRunningGateway()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartGatewayAsync();
        await using var admin = await AdminHarness.StartAsync(apply: gateway.Runtime.Apply);
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Urls[0]) };

        using (var before = await client.GetAsync("/hello"))
        {
            Assert.Equal(HttpStatusCode.NotFound, before.StatusCode);
        }

        await admin.PutOkAsync("/admin/services/backend", $$"""{"targets":["{{backend.Urls.First()}}"]}""");
        var put = await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"backend"}""");
        Assert.True((bool)put["applied"]!);

        using var after = await client.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("hello from the backend", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CreateKey_ReturnsThePlaintextOnce_StoresOnlyItsHash_AndTheKeyWorks()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartGatewayAsync();
        await using var admin = await AdminHarness.StartAsync(apply: gateway.Runtime.Apply);
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Urls[0]) };

        await admin.PutOkAsync("/admin/services/backend", $$"""{"targets":["{{backend.Urls.First()}}"]}""");
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"backend"}""");
        await admin.PutOkAsync("/admin/plans/retail", """{"include":[{"route":"hello"}]}""");
        await admin.PutOkAsync("/admin/accounts/acme", """{"title":"ACME"}""");
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail"}""");

        using var created = await admin.Client.PostAsync("/admin/applications/shop/keys", new StringContent("""{"expires":"2099-01-01T00:00:00Z"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var made = await AdminHarness.ReadObjectAsync(created);
        var key = (string)made["key"]!;
        var prefix = (string)made["prefix"]!;
        Assert.StartsWith("ghk_", key, StringComparison.Ordinal);
        Assert.StartsWith(prefix, key, StringComparison.Ordinal);

        // The plaintext is nowhere in the store: not in the resource, not in the audit trail, not in the files.
        var application = await admin.Store.GetAsync("application", "shop");
        Assert.DoesNotContain(key, application!.Body, StringComparison.Ordinal);
        Assert.Contains((string)made["sha256"]!, application.Body, StringComparison.Ordinal);
        foreach (var entry in await admin.Store.ListAuditAsync(limit: 1000))
        {
            Assert.DoesNotContain(key, entry.After ?? "", StringComparison.Ordinal);
        }

        Assert.DoesNotContain(key, await ReadStoreFilesAsync(Path.GetDirectoryName(admin.SqlitePath)!), StringComparison.Ordinal);

        using (var got = await admin.Client.GetAsync("/admin/applications/shop"))
        {
            Assert.DoesNotContain(key, await got.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var withoutKey = await client.GetAsync("/hello"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.StatusCode);
        }

        using (var withKey = new HttpRequestMessage(HttpMethod.Get, "/hello"))
        {
            withKey.Headers.Add("X-Api-Key", key);
            using var served = await client.SendAsync(withKey);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using (var revoked = await admin.Client.DeleteAsync("/admin/applications/shop/keys/" + prefix))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        using (var again = await admin.Client.DeleteAsync("/admin/applications/shop/keys/" + prefix))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        using var afterRevoke = new HttpRequestMessage(HttpMethod.Get, "/hello");
        afterRevoke.Headers.Add("X-Api-Key", key);
        using var refused = await client.SendAsync(afterRevoke);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task RotateKey_WithGrace_BothWorkUntilItEnds_WithoutGrace_TheOldStopsAtOnce()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartGatewayAsync();
        // The admin clock is the real one here: the gateway judges key expiry by the real clock.
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await using var admin = await AdminHarness.StartAsync(apply: gateway.Runtime.Apply, now: before.AddSeconds(1));
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Urls[0]) };
        await admin.PutOkAsync("/admin/services/backend", $$"""{"targets":["{{backend.Urls.First()}}"]}""");
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"backend"}""");
        await admin.PutOkAsync("/admin/plans/retail", """{"include":[{"route":"hello"}]}""");
        await admin.PutOkAsync("/admin/accounts/acme", """{"title":"ACME"}""");
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail"}""");
        using var created = await admin.Client.PostAsync("/admin/applications/shop/keys", new StringContent("""{"expires":"2099-01-01T00:00:00Z"}""", Encoding.UTF8, "application/json"));
        var first = await AdminHarness.ReadObjectAsync(created);

        // With a grace period, one revision holds both keys; the new one inherits the old one's expiry.
        using var rotated = await admin.Client.PostAsync($"/admin/applications/shop/keys/{first["prefix"]}/rotate", new StringContent("""{"grace":"2h"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        Assert.Equal("no-store", rotated.Headers.CacheControl?.ToString());
        var second = await AdminHarness.ReadObjectAsync(rotated);
        Assert.NotEqual((string)first["key"]!, (string)second["key"]!);
        Assert.Equal("2099-01-01T00:00:00Z", (string?)second["expires"]);
        var oldUntil = DateTimeOffset.Parse((string)second["previous"]!["expires"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(oldUntil, before.AddHours(2), before.AddHours(2).AddSeconds(2));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(client, (string)first["key"]!));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(client, (string)second["key"]!));
        var body = (await admin.Store.GetAsync("application", "shop"))!.Body;
        Assert.DoesNotContain((string)second["key"]!, body, StringComparison.Ordinal);

        // Without one, the old key is gone in the same revision as the new one appears.
        using var immediate = await admin.Client.PostAsync($"/admin/applications/shop/keys/{second["prefix"]}/rotate", new StringContent("""{"grace":"0s"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, immediate.StatusCode);
        var third = await AdminHarness.ReadObjectAsync(immediate);
        Assert.True((bool)third["previous"]!["revoked"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWithKeyAsync(client, (string)second["key"]!));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(client, (string)third["key"]!));
        Assert.Equal(HttpStatusCode.OK, await StatusWithKeyAsync(client, (string)first["key"]!));

        // Bad input changes nothing.
        var revision = await admin.Store.CurrentRevisionAsync();
        using (var badGrace = await admin.Client.PostAsync($"/admin/applications/shop/keys/{third["prefix"]}/rotate", new StringContent("""{"grace":"soon"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badGrace.StatusCode);
        }

        using (var unknown = await admin.Client.PostAsync("/admin/applications/shop/keys/ghk_nope/rotate", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        Assert.Equal(revision, await admin.Store.CurrentRevisionAsync());
    }

    private static async Task<HttpStatusCode> StatusWithKeyAsync(HttpClient client, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
        request.Headers.Add("X-Api-Key", key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task CreateKey_ForAMissingApplication_Is404()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.Client.PostAsync("/admin/applications/none/keys", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    private static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("hello from the backend"));
        await app.StartAsync();
        return app;
    }

    private static Task<GatewayHost> StartGatewayAsync() => GatewayHost.StartAsync(new GatewayHostOptions
    {
        Config = new GatehouseConfig { Gateway = new GatewayConfig { Listeners = [new ListenerConfig { Url = "http://127.0.0.1:0" }] } },
        ConfigureLogging = logging => logging.ClearProviders(),
    });

    /// <summary>
    /// Every file of the store's folder, read whole. SQLite removes its -wal file when a checkpoint folds it into the
    /// database, so a file can vanish between listing and opening: then its content is in the database file, and the
    /// whole folder is read again so nothing is missed.
    /// </summary>
    private static async Task<string> ReadStoreFilesAsync(string folder)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var text = new StringBuilder();
                foreach (var file in Directory.GetFiles(folder))
                {
                    using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    using var reader = new StreamReader(stream, Encoding.Latin1);
                    text.Append(await reader.ReadToEndAsync()).Append('\n');
                }

                return text.ToString();
            }
            catch (FileNotFoundException) when (attempt < 10)
            {
            }
        }
    }
}
