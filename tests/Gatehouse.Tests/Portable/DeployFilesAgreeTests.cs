using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Portable;

/// <summary>
/// The Dockerfile cannot be built here (no container engine), so what it names is checked against the repository: the
/// publish profiles it and docs/deploy.md use exist, and the files it copies are there.
/// </summary>
[Trait("Issue", "21")]
public sealed partial class DeployFilesAgreeTests
{
    private static string Root => GatehouseProcess.RepositoryRoot;

    [Fact]
    public void DockerfileAndDeployMd_NameProfilesThatExist_ForBothArchitectures()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        var deploy = File.ReadAllText(Path.Combine(Root, "docs", "deploy.md"));
        var profiles = Directory.GetFiles(Path.Combine(Root, "src", "Gatehouse", "Properties", "PublishProfiles"), "*.pubxml")
            .Select(f => Path.GetFileNameWithoutExtension(f)!).Order().ToArray();

        Assert.Equal<string>(["linux-arm64", "linux-x64"], profiles);
        foreach (var rid in profiles)
        {
            // The documented command: the runtime and the profile of the same name.
            Assert.Contains($"-r {rid}", Regex.Replace(deploy, " +", " "), StringComparison.Ordinal);
            Assert.Contains($"-p:PublishProfile={rid}", deploy, StringComparison.Ordinal);
            Assert.Contains($"rid={rid}", dockerfile, StringComparison.Ordinal);
            var profile = File.ReadAllText(Path.Combine(Root, "src", "Gatehouse", "Properties", "PublishProfiles", rid + ".pubxml"));
            Assert.Contains($"<RuntimeIdentifier>{rid}</RuntimeIdentifier>", profile, StringComparison.Ordinal);
        }

        Assert.Contains("-p:PublishProfile=\"$rid\"", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_CopiesFilesThatExist_RunsAsNonRoot_ChecksReady()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));

        foreach (Match copy in CopyFromContext().Matches(dockerfile))
        {
            var source = copy.Groups[1].Value;
            Assert.True(source == "." || File.Exists(Path.Combine(Root, source)), $"the Dockerfile copies {source}, which is not in the repository");
        }

        Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
        Assert.Matches(@"(?m)^HEALTHCHECK .*""/app/entrypoint.sh"", ""health""\]$", dockerfile);
        Assert.Matches(@"(?m)^ENTRYPOINT \[""/app/entrypoint.sh""\]$", dockerfile);
        Assert.Equal(2, Regex.Matches(dockerfile, @"(?m)^FROM ").Count);
    }

    // COPY lines that copy from the build context (not --from=STAGE): the first path after the options.
    [GeneratedRegex(@"(?m)^COPY (?!.*--from)(?:--\S+ )*(\S+) ")]
    private static partial Regex CopyFromContext();
}
