namespace Gatehouse.Model.Tests.Schema;

/// <summary>
/// Files in the repository made from the config records (the JSON Schema, the configuration reference). A test compares
/// each with what the records make now; with <c>GATEHOUSE_UPDATE_GENERATED=1</c> it writes them instead.
/// </summary>
internal static class GeneratedFiles
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static bool Update => Environment.GetEnvironmentVariable("GATEHOUSE_UPDATE_GENERATED") == "1";

    /// <summary>Asserts that the file at <paramref name="relativePath"/> holds <paramref name="expected"/>, or writes it when updating.</summary>
    public static void Check(string relativePath, string expected)
    {
        var path = Path.Combine(RepositoryRoot, relativePath);
        if (Update)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, expected);
            return;
        }

        Assert.True(File.Exists(path), $"{relativePath} is missing; run the tests once with GATEHOUSE_UPDATE_GENERATED=1 to write it.");
        var actual = File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.True(actual == expected, $"{relativePath} is stale: the config records changed since it was generated. Run `GATEHOUSE_UPDATE_GENERATED=1 dotnet test tests/Gatehouse.Model.Tests --filter Generated` and commit the result.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gatehouse.slnx not found above " + AppContext.BaseDirectory);
    }
}
