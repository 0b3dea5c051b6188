using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Consumers;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Everything <c>gatehouse run --store</c> starts for the portal, for real: a SQLite store, a gateway in front of a
/// backend, the admin API (and console), the consumer follower and the portal, each on 127.0.0.1:0.
/// </summary>
internal sealed partial class PortalHarness : IAsyncDisposable
{
    public const string AdminToken = "gha_portal-harness-admin-token";

    private readonly string _folder;
    private readonly WebApplication _backend;

    private PortalHarness(string folder, WebApplication backend, IConfigStore store, GatewayHost gateway, ConsumerFollower follower, AdminApi admin, PortalHost portal, FakeTime? time, string mail, List<string> logs)
    {
        (_folder, _backend, Store, Gateway, Follower, Admin, Portal, Time, MailDirectory, Logs) = (folder, backend, store, gateway, follower, admin, portal, time, mail, logs);
    }

    public IConfigStore Store { get; }

    public GatewayHost Gateway { get; }

    public ConsumerFollower Follower { get; }

    public AdminApi Admin { get; }

    public PortalHost Portal { get; }

    public FakeTime? Time { get; }

    public string MailDirectory { get; }

    /// <summary>The mails to one address in the pickup folder, oldest first, once there are <paramref name="count"/> of them.</summary>
    public async Task<List<MimeKit.MimeMessage>> MailsToAsync(string address, int count)
    {
        List<MimeKit.MimeMessage> mails = [];
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(() =>
        {
            mails = Directory.Exists(MailDirectory)
                ? [.. Directory.GetFiles(MailDirectory, "*.eml").Order(StringComparer.Ordinal).Select(f => MimeKit.MimeMessage.Load(f)).Where(m => m.To.Mailboxes.Any(b => b.Address == address))]
                : [];
            return mails.Count >= count;
        }, $"{count} mails to {address}");
        return mails;
    }

    public string Folder => _folder;

    /// <summary>Every log line the admin API, the portal and the gateway wrote.</summary>
    public List<string> Logs { get; }

    public static async Task<PortalHarness> StartAsync(FakeTime? time = null, Func<PortalOptions, PortalOptions>? portalOptions = null, string? consolePublicUrl = null,
        Gatehouse.Management.Web.SingleSignOnOptions? sso = null, Func<string, string>? editYaml = null, string? store = null)
    {
        var folder = Directory.CreateTempSubdirectory("gatehouse-portal-").FullName;
        var backend = await ConsumerNode.StartBackendAsync();
        // store: another store's connection string (a PostgreSQL database), instead of a SQLite file of the harness's own.
        var opened = await ConfigStores.OpenAsync(store ?? "sqlite:" + Path.Combine(folder, "gatehouse.db"), (TimeProvider?)time ?? TimeProvider.System);
        var yaml = ConsumerNode.Yaml(backend.Urls.First());
        yaml = editYaml is null ? yaml : editYaml(yaml);
        var (_, errors) = await StoreConfig.ImportAsync(opened, yaml, folder, null, "test", "import");
        Assert.Empty(errors);
        var (_, loaded) = await StoreConfig.LoadAsync(opened, folder, null);
        var logs = new List<string>();
        var provider = new ListLoggerProvider(logs);
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { Config = loaded.Config!, ConfigureLogging = l => { l.ClearProviders(); l.AddProvider(provider); } });
        var follower = new ConsumerFollower(opened, gateway.Runtime.Consumers);
        await follower.StartAsync(CancellationToken.None);
        var admin = await AdminApi.StartAsync(new AdminApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = opened,
            TokenSha256 = ApiKeyHash.Sha256Hex(AdminToken),
            Apply = gateway.Runtime.Apply,
            ServedRevision = 1,
            BaseDirectory = folder,
            Environment = _ => null,
            Consumers = follower,
            ConfigureLogging = l => { l.ClearProviders(); l.AddProvider(provider); l.SetMinimumLevel(LogLevel.Trace); },
            FollowInterval = Timeout.InfiniteTimeSpan,
            Time = (TimeProvider?)time ?? TimeProvider.System,
            PublicUrl = consolePublicUrl,
            Sso = sso,
        });
        var mail = Path.Combine(folder, "mail");
        var options = new PortalOptions
        {
            Url = "http://127.0.0.1:0",
            Admin = admin,
            GatewayUrl = gateway.Urls[0],
            MailDirectory = mail,
            Time = (TimeProvider?)time ?? TimeProvider.System,
        };
        PortalHost portal;
        try
        {
            portal = await PortalHost.StartAsync(portalOptions is null ? options : portalOptions(options));
        }
        catch
        {
            await StopAsync(admin, follower, gateway, opened, backend, folder);
            throw;
        }

        return new PortalHarness(folder, backend, opened, gateway, follower, admin, portal, time, mail, logs);
    }

    /// <summary>A browser-like client of the portal: its own cookies, no automatic redirects.</summary>
    public Browser NewBrowser(string? baseUrl = null) => new(baseUrl ?? Portal.Url);

    public HttpClient GatewayClient() => new() { BaseAddress = new Uri(Gateway.Urls[0]) };

    /// <summary>A client of the admin API with the admin token.</summary>
    public HttpClient AdminClient()
    {
        var client = new HttpClient { BaseAddress = new Uri(Admin.Url) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    public async Task<HttpStatusCode> CallGatewayAsync(string method, string key)
    {
        using var client = GatewayClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/users/7");
        request.Headers.Add("X-Api-Key", key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        await Portal.DisposeAsync();
        await StopAsync(Admin, Follower, Gateway, Store, _backend, _folder);
    }

    // Everything but the portal, in the order it depends on each other: also what a portal that failed to start leaves.
    private static async Task StopAsync(AdminApi admin, ConsumerFollower follower, GatewayHost gateway, IConfigStore store, WebApplication backend, string folder)
    {
        await admin.DisposeAsync();
        await follower.DisposeAsync();
        await gateway.DisposeAsync();
        await store.DisposeAsync();
        await backend.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Signs up and signs in a new consumer; returns its browser.</summary>
    public async Task<Browser> ConsumerAsync(string email, string password = "a long enough pass phrase")
    {
        var browser = NewBrowser();
        using (var signup = await browser.SubmitPastBusyAsync("/signup", "/signup", ("email", email), ("title", "T " + email), ("password", password)))
        {
            Assert.Equal(HttpStatusCode.OK, signup.StatusCode);
        }

        using var login = await browser.SubmitPastBusyAsync("/login", "/login", ("email", email), ("password", password));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return browser;
    }

    /// <summary>Creates an application through the form; its id (from the key page) and key.</summary>
    public static async Task<(string Id, string Key)> CreateAppAsync(Browser browser, string plan, string title = "Shop", string description = "")
    {
        using var created = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", title), ("description", description), ("plan", plan));
        var html = await created.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (AppLink().Match(html).Groups[1].Value, NewKey().Match(html).Groups[1].Value);
    }

    [GeneratedRegex("href=\"/apps/(app-[a-z2-7]+)\"")]
    public static partial Regex AppLink();

    [GeneratedRegex("data-new-key=\"(ghk_[A-Za-z0-9_-]+)\"")]
    public static partial Regex NewKey();
}

/// <summary>A cookie-keeping client that reads each form's antiforgery token from the page, as a browser would submit it.</summary>
internal sealed partial class Browser : IDisposable
{
    private readonly HttpClient _client;

    public Browser(string baseUrl)
    {
        Cookies = new CookieContainer();
        _client = new HttpClient(new SocketsHttpHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = new Uri(baseUrl) };
    }

    public CookieContainer Cookies { get; }

    public HttpClient Client => _client;

    public Task<HttpResponseMessage> GetAsync(string path) => _client.GetAsync(path);

    public async Task<string> PageAsync(string path)
    {
        using var response = await _client.GetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>GETs <paramref name="formPage"/>, takes its token, and posts <paramref name="fields"/> to <paramref name="action"/>.</summary>
    public async Task<HttpResponseMessage> SubmitAsync(string formPage, string action, params (string Name, string Value)[] fields)
    {
        var token = Token().Match(await PageAsync(formPage)).Groups[1].Value;
        return await PostAsync(action, [.. fields, ("__RequestVerificationToken", token)]);
    }

    /// <summary>How many times in all <see cref="SubmitPastBusyAsync"/> posts a form the password bulkhead refused.</summary>
    public const int BusyAttempts = 4;

    /// <summary>The longest <see cref="SubmitPastBusyAsync"/> waits between two posts, whatever Retry-After says.</summary>
    public static readonly TimeSpan BusyWaitCap = TimeSpan.FromSeconds(3);

    /// <summary>
    /// <see cref="SubmitAsync"/> for a form whose password goes through the password-work bulkhead (sign-up, sign-in): a
    /// 503 that says when to come back (<c>Retry-After</c>) is posted again after that wait, capped at
    /// <see cref="BusyWaitCap"/>, up to <see cref="BusyAttempts"/> posts in all, so that a starved CI machine's refusals
    /// for load do not fail a test about something else. The last answer is returned as it came, a 503 included: a
    /// bulkhead that never admits still fails the test, and a 503 without Retry-After is not retried. Tests of the
    /// bulkhead itself post with <see cref="SubmitAsync"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SubmitPastBusyAsync(string formPage, string action, params (string Name, string Value)[] fields)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await SubmitAsync(formPage, action, fields);
            if (attempt == BusyAttempts || BusyWait(response, DateTimeOffset.UtcNow) is not { } wait)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(wait);
        }
    }

    /// <summary>How long to wait before posting again after <paramref name="response"/>; null when it is not a 503 with Retry-After.</summary>
    public static TimeSpan? BusyWait(HttpResponseMessage response, DateTimeOffset now)
    {
        var wait = response.StatusCode != HttpStatusCode.ServiceUnavailable ? null
            : response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - now : null);
        return wait is not { } given ? null
            : given < TimeSpan.Zero ? TimeSpan.Zero
            : given > BusyWaitCap ? BusyWaitCap
            : given;
    }

    public Task<HttpResponseMessage> PostAsync(string action, params (string Name, string Value)[] fields) =>
        _client.PostAsync(action, new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))));

    public static string TokenOf(string html) => Token().Match(html).Groups[1].Value;

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex Token();

    public void Dispose() => _client.Dispose();
}
