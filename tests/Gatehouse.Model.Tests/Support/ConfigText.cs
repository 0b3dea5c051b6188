using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Validation;

namespace Gatehouse.Model.Tests.Support;

/// <summary>Loads config text with a fixed, fake environment so no test depends on the machine's variables.</summary>
internal static class ConfigText
{
    /// <summary>A minimal valid document: one service, one route to it.</summary>
    public const string Minimal = """
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
        routes:
          users:
            path: /users/{id}
            service: users
        """;

    public static ConfigLoadResult Load(string text, IReadOnlyDictionary<string, string>? env = null, string? baseDirectory = null) =>
        ConfigLoader.Load(text, baseDirectory ?? Path.GetTempPath(), name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    /// <summary>Loads <paramref name="text"/> and asserts it is valid.</summary>
    public static GatehouseConfig Valid(string text, IReadOnlyDictionary<string, string>? env = null, string? baseDirectory = null)
    {
        var result = Load(text, env, baseDirectory);
        Assert.True(result.IsValid, "expected a valid config, got:\n" + string.Join("\n", result.Errors));
        return result.Config!;
    }

    /// <summary>Loads <paramref name="text"/> and asserts there is exactly one error, at <paramref name="path"/>.</summary>
    public static ConfigError SingleError(string text, string path, IReadOnlyDictionary<string, string>? env = null, string? baseDirectory = null)
    {
        var result = Load(text, env, baseDirectory);
        Assert.False(result.IsValid);
        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        return error;
    }

    /// <summary>A document with <paramref name="service"/> spliced in as the body of service 'users'.</summary>
    public static string WithService(string service) => $"""
        version: 1
        services:
          users:
        {Indent(service, 4)}
        """;

    /// <summary>A document with service 'users' and <paramref name="routes"/> as the body of 'routes'.</summary>
    public static string WithRoutes(string routes) => $"""
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
          orders:
            targets: [http://127.0.0.1:5002]
        routes:
        {Indent(routes, 2)}
        """;

    /// <summary>A document with <paramref name="gateway"/> as the body of 'gateway'.</summary>
    public static string WithGateway(string gateway) => $"""
        version: 1
        gateway:
        {Indent(gateway, 2)}
        """;

    public static string Indent(string text, int spaces)
    {
        var pad = new string(' ', spaces);
        return string.Join("\n", text.Replace("\r\n", "\n").Split('\n').Select(l => l.Length == 0 ? l : pad + l));
    }
}
