using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Docs;

/// <summary>
/// Where the docs disagreed with the code (issue 24): each statement is checked against what the code does, so the two
/// cannot drift apart again unnoticed.
/// </summary>
[Trait("Issue", "24")]
public sealed class DocsAgreeWithCodeTests
{
    private static string Doc(params string[] path) => File.ReadAllText(Path.Combine([GatehouseProcess.RepositoryRoot, .. path]));

    [Fact]
    public void ApprovalRequired_InAConfigFile_StartsLive_AsConfigurationMdSays()
    {
        var loaded = ConfigLoader.Load("""
            version: 1
            services:
              s: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: s }
            plans:
              wholesale: { approvalRequired: true, include: [{ route: r }] }
            accounts:
              acme: {}
            applications:
              shop: { account: acme, plan: wholesale }
            """, Path.GetTempPath(), _ => null);

        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Equal(ApplicationState.Live, loaded.Config!.Applications["shop"].State);
        // The row says both: pending through the admin API, and what a config file's application is.
        var row = Doc("docs", "configuration.md").Split('\n').Single(l => l.StartsWith("| `approvalRequired`", StringComparison.Ordinal));
        Assert.Contains("admin API", row, StringComparison.Ordinal);
        Assert.Contains("`pending`", row, StringComparison.Ordinal);
        Assert.Contains("in a config file", row, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ServiceWithOperationsAndNoPublish_ServesNoRoute_AsTheDocsSay_AndValidateSaysSo()
    {
        const string Text = """
            version: 1
            services:
              users:
                targets: ["http://127.0.0.1:9"]
                operations:
                  users.getUser: { method: GET, path: "/users/{id}" }
            """;
        var loaded = ConfigLoader.Load(Text, Path.GetTempPath(), _ => null);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        Assert.Empty(loaded.Config!.Routes);
        var published = ConfigLoader.Load(Text + "\n    publish: {}\n", Path.GetTempPath(), _ => null);
        Assert.True(published.IsValid, string.Join("\n", published.Errors));
        Assert.Equal("/users/{id}", Assert.Single(published.Config!.Routes).Value.Path);

        var publish = Doc("docs", "configuration.md").Split('\n').Single(l => l.StartsWith("| `publish` |", StringComparison.Ordinal));
        Assert.Contains("Without it, operations (imported or declared) serve nothing by themselves", publish, StringComparison.Ordinal);

        var file = Path.Combine(Path.GetTempPath(), $"unserved-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, Text);
        try
        {
            var (code, stdout, _) = await GatehouseProcess.RunAsync("validate", file);
            Assert.Equal(0, code);
            Assert.Contains("note: services.users has 1 operation, but no route or composition calls the service", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Readme_NamesTheServiceApiAndItsToken_HowToGetTheCommand_AndKeepsUserFilesOutOfTheRepository()
    {
        var readme = Doc("README.md");
        Assert.Contains("service API on `http://127.0.0.1:8082`", readme, StringComparison.Ordinal);
        Assert.Contains("demo service token: ghs_", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet tool install --global Gatehouse --add-source", readme, StringComparison.Ordinal);
        Assert.Contains("What a first run costs", readme, StringComparison.Ordinal);

        // The export writes into a folder of the user's, entered before it.
        var tour = readme[readme.IndexOf("## A five-minute tour", StringComparison.Ordinal)..];
        var cd = tour.IndexOf("cd ~/gatehouse-tour", StringComparison.Ordinal);
        var export = tour.IndexOf("gatehouse export -o shop.yaml", StringComparison.Ordinal);
        Assert.True(cd >= 0 && export > cd, "the tour exports shop.yaml before leaving the repository");
        Assert.DoesNotContain("dotnet run --project src/Gatehouse -- export", tour, StringComparison.Ordinal);
    }
}
