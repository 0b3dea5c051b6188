using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>
/// <see cref="EnvironmentReferences"/> (used by <c>gatehouse apply</c>) must resolve exactly as the loader does, and
/// <see cref="EnvironmentReferences.Escape"/> must survive a second resolution.
/// </summary>
public sealed class EnvironmentReferencesTests
{
    private static readonly Dictionary<string, string> Variables = new() { ["HOST"] = "10.1.2.3", ["EMPTY"] = "", ["PRICE"] = "10 $ a ${MONTH}" };

    [Theory]
    [InlineData("plain")]
    [InlineData("${HOST}")]
    [InlineData("a ${HOST} b ${HOST}")]
    [InlineData("${EMPTY:-fallback}")]
    [InlineData("${UNSET:-fallback}")]
    [InlineData("$$ and $x and trailing $")]
    [InlineData("${PRICE}")]
    public void Resolve_Always_GivesWhatTheLoaderGives(string value)
    {
        var resolved = EnvironmentReferences.Resolve(value, Lookup, out var error);
        var loaded = LoadTitle(value);

        Assert.Null(error);
        Assert.Equal(loaded, resolved);
        // What apply stores: loading it again yields the same value, never a second substitution.
        Assert.Equal(resolved, LoadTitle(EnvironmentReferences.Escape(resolved!)));
    }

    [Theory]
    [InlineData("${UNSET}", "environment variable 'UNSET' is not set")]
    [InlineData("${HOST", "is not closed")]
    [InlineData("${1A}", "is not a variable name")]
    public void Resolve_Bad_SaysWhyLikeTheLoader(string value, string message)
    {
        Assert.Null(EnvironmentReferences.Resolve(value, Lookup, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
        var loaded = ConfigLoader.Load(Document(value), ".", Lookup);
        Assert.Contains(loaded.Errors, e => e.Path == "plans.p.title" && e.Message == error);
    }

    private static string? Lookup(string name) => Variables.TryGetValue(name, out var v) ? v : null;

    private static string Document(string title) =>
        "version: 1\nplans:\n  p: { title: \"" + title + "\" }\n";

    private static string? LoadTitle(string title)
    {
        var loaded = ConfigLoader.Load(Document(title), ".", Lookup);
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        return loaded.Config!.Plans["p"].Title;
    }
}
