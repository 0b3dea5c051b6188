using System.Reflection;
using System.Text.RegularExpressions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Docs;

/// <summary>docs/configuration.md is the user's reference: it must name every key the config records have.</summary>
public sealed class ConfigurationDocsTests
{
    [Fact]
    public void ConfigurationDoc_NamesEveryConfigKey()
    {
        var doc = File.ReadAllText(Path.Combine(GatehouseProcess.RepositoryRoot, "docs", "configuration.md"));
        var types = typeof(GatehouseConfig).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(GatehouseConfig).Namespace && t.IsClass && t.Name.EndsWith("Config", StringComparison.Ordinal));

        var missing = types
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                // Properties the loader fills in (an imported operation's contract, a credential's value) are no keys a user writes.
                .Where(p => p.GetCustomAttribute<Gatehouse.Model.Schema.NotConfigAttribute>() is null)
                .Select(p => $"{t.Name}.{Units.CamelCase(p.Name)}"))
            .Where(key => !Regex.IsMatch(doc, $@"`[^`\n]*\b{key.Split('.')[1]}\b[^`\n]*`"))
            .ToList();

        Assert.True(missing.Count == 0, "docs/configuration.md does not mention: " + string.Join(", ", missing));
    }
}
