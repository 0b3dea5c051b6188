using Gatehouse.Management.Revisions;
using Gatehouse.Model.Loading;

namespace Gatehouse.Management.Tests.Revisions;

public sealed class ConfigDocumentTests
{
    private const string Yaml = """
        version: 1
        gateway:
          trustedProxies: [10.0.0.0/8]
        services:
          users: { targets: ["${USERS_URL:-http://127.0.0.1:5101}"], timeout: 5s }
        routes:
          users-get: { methods: [GET], path: "/users/{id}", service: users }
        plans:
          retail: { include: [ { route: users-get, access: read } ], limits: [ { requests: 10, per: second } ] }
        accounts:
          acme: { title: "ACME 😀 Corp" }
        applications:
          shop: { account: acme, plan: retail }
        compositions:
          user-card:
            path: "/users/{id}/card"
            steps:
              user: { service: users, path: "/users/{id}", params: { id: "@request.path.id" } }
            response: { name: "@user.body.name" }
        """;

    [Fact]
    public void Split_ThenCompose_LoadsToTheSameConfig()
    {
        var resources = ConfigDocument.Split(Yaml, out var errors);

        Assert.Empty(errors);
        Assert.Equal(
            new[] { "gateway/gateway", "service/users", "route/users-get", "plan/retail", "account/acme", "application/shop", "composition/user-card" },
            resources.Select(r => $"{r.Kind}/{r.Name}"));
        Assert.Equal("""{"targets":["${USERS_URL:-http://127.0.0.1:5101}"],"timeout":"5s"}""", resources[1].Body);

        var composed = ConfigDocument.Compose(resources);
        var fromFile = ConfigLoader.Load(Yaml, ".", _ => null);
        var fromStore = ConfigLoader.Load(composed, ".", _ => null);
        Assert.True(fromStore.IsValid, string.Join("\n", fromStore.Errors));
        Assert.Equal(fromFile.Config!.Services["users"].Timeout, fromStore.Config!.Services["users"].Timeout);
        Assert.Equal("ACME 😀 Corp", fromStore.Config.Accounts["acme"].Title);
        Assert.Equal(fromFile.Config.Routes.Keys, fromStore.Config.Routes.Keys);
        Assert.Equal(fromFile.Config.Plans["retail"].Limits.Count, fromStore.Config.Plans["retail"].Limits.Count);
        Assert.Equal(fromFile.Config.Gateway.TrustedProxies, fromStore.Config.Gateway.TrustedProxies);
        Assert.Equal("/users/{id}/card", fromStore.Config.Compositions["user-card"].Path);
    }

    [Fact]
    public void Compose_EscapedSurrogatesInABody_LoadAsTheCharacter()
    {
        var composed = ConfigDocument.Compose([new ConfigResource("account", "acme", """{"title":"\ud83d\ude00"}""")]);

        var loaded = ConfigLoader.Load(composed, ".", _ => null);

        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Equal("😀", loaded.Config!.Accounts["acme"].Title);
    }

    [Fact]
    public void Compose_Nothing_IsAValidEmptyConfig()
    {
        var loaded = ConfigLoader.Load(ConfigDocument.Compose([]), ".", _ => null);

        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Empty(loaded.Config!.Routes);
    }

    [Fact]
    public void Split_UnknownSectionOrNotAMapping_IsReportedWithItsPath()
    {
        ConfigDocument.Split("version: 1\nwidgets: {}\nservices: [1]\n", out var errors);

        Assert.Equal(new[] { "widgets", "services" }, errors.Select(e => e.Path));
    }
}
