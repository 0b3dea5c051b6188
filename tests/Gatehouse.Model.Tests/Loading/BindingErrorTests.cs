using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>Errors the binder finds: keys, types, required values, units, enums, names.</summary>
public sealed class BindingErrorTests
{
    [Fact]
    public void UnknownKey_CloseToAKnownOne_SuggestsIt()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targtes: [http://127.0.0.1:5001]
                targets: [http://127.0.0.1:5001]
            """, "services.users.targtes");

        Assert.Equal("unknown key 'targtes'; did you mean 'targets'?", error.Message);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void UnknownKey_AtTheTop_SuggestsIt()
    {
        var error = ConfigText.SingleError("""
            version: 1
            sevices: {}
            """, "sevices");

        Assert.Contains("did you mean 'services'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKey_NothingClose_ListsTheAllowedKeys()
    {
        var error = ConfigText.SingleError("""
            version: 1
            gateway:
              plugins: []
            """, "gateway.plugins");

        Assert.Contains("unknown key 'plugins'", error.Message, StringComparison.Ordinal);
        Assert.Contains("listeners, trustedProxies, maxRequestBodySize, maxRequestHeadersSize, drainTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongType_ListWhereAMappingIsExpected_SaysWhatWasFound()
    {
        var error = ConfigText.SingleError("""
            version: 1
            gateway: [a, b]
            """, "gateway");

        Assert.Contains("expected a mapping", error.Message, StringComparison.Ordinal);
        Assert.Contains("found a list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongType_TextWhereAListIsExpected_SaysWhatWasFound()
    {
        var error = ConfigText.SingleError("""
            version: 1
            gateway:
              trustedProxies: 10.0.0.0/8
            """, "gateway.trustedProxies");

        Assert.Equal("expected a list; found '10.0.0.0/8'.", error.Message);
    }

    [Fact]
    public void WrongType_MappingWhereTextIsExpected_SaysWhatWasFound()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
            routes:
              users:
                path: {value: /users}
                service: users
            """, "routes.users.path");

        Assert.Contains("expected a text value; found a mapping", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongType_TextWhereANumberIsExpected_SaysWhatWasFound()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets:
              - url: http://127.0.0.1:5001
                weight: heavy
            """), "services.users.targets[0].weight");

        Assert.Equal("expected a whole number; found 'heavy'.", error.Message);
    }

    [Fact]
    public void WrongType_ServicesAsAList_SaysAMappingOfNamesIsExpected()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              - users
            """, "services");

        Assert.Contains("mapping of names", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Number_BelowMinimum_SaysTheMinimum()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets: [http://127.0.0.1:5001]
            maxConnectionsPerTarget: 0
            """), "services.users.maxConnectionsPerTarget");

        Assert.Equal("must be at least 1; found 0.", error.Message);
    }

    [Theory]
    [InlineData("routes:\n  users:\n    service: users\n", "routes.users.path")]
    [InlineData("routes:\n  users:\n    path: /users\n", "routes.users.service")]
    [InlineData("gateway:\n  listeners:\n    - protocols: http1\n", "gateway.listeners[0].url")]
    [InlineData("services:\n  users:\n    targets:\n      - weight: 2\n", "services.users.targets[0].url")]
    public void RequiredKey_Missing_IsReportedAtItsPath(string body, string path)
    {
        var error = ConfigText.SingleError("version: 1\n" + body, path);

        Assert.Contains("is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RequiredKey_Empty_SaysItMustNotBeEmpty()
    {
        var error = ConfigText.SingleError("""
            version: 1
            gateway:
              listeners:
                - url: ""
            """, "gateway.listeners[0].url");

        Assert.Equal("'url' must not be empty.", error.Message);
    }

    [Fact]
    public void Service_WithoutTargets_SaysHowToAddThem()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            timeout: 5s
            """), "services.users.targets");

        Assert.Contains("targets:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_WithEmptyTargetList_SaysItNeedsOne()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets: []
            """), "services.users.targets");

        Assert.Contains("at least one target", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("timeout: soon", "services.users.timeout")]
    [InlineData("connectTimeout: -1s", "services.users.connectTimeout")]
    [InlineData("dnsRefresh: 0s", "services.users.dnsRefresh")]
    [InlineData("healthCheck:\n  passive:\n    cooldown: 5 minutes", "services.users.healthCheck.passive.cooldown")]
    public void Duration_Invalid_ShowsExamples(string line, string path)
    {
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\n" + line), path);

        Assert.Contains("expected a positive duration such as '500ms', '30s'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("maxRequestBodySize: 10 parsecs", "gateway.maxRequestBodySize")]
    [InlineData("maxRequestBodySize: 0", "gateway.maxRequestBodySize")]
    [InlineData("maxRequestBodySize: 1.5MB", "gateway.maxRequestBodySize")]
    [InlineData("maxRequestHeadersSize: -4KB", "gateway.maxRequestHeadersSize")]
    public void Size_Invalid_ShowsExamples(string line, string path)
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway(line), path);

        Assert.Contains("expected a positive size such as '65536', '512KB' or '10MB'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_HeadersOver2GB_IsRejected()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("maxRequestHeadersSize: 2GB"), "gateway.maxRequestHeadersSize");

        Assert.Contains("2GB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Size_HeadersUnder1KB_IsRejectedByValidation()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("maxRequestHeadersSize: 512"), "gateway.maxRequestHeadersSize");

        Assert.Contains("at least 1KB", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("loadBalancing: random", "services.users.loadBalancing", "roundRobin, leastRequests, powerOfTwoChoices, hash")]
    [InlineData("protocol: http3", "services.users.protocol", "http1, http2")]
    public void Enum_UnknownValue_ListsTheValues(string line, string path, string values)
    {
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\n" + line), path);

        Assert.Contains(values, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enum_ListenerProtocols_ListsTheValues()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: http://127.0.0.1:8080
                protocols: h2
            """), "gateway.listeners[0].protocols");

        Assert.Equal("'h2' is not one of http1AndHttp2, http1, http2.", error.Message);
    }

    [Fact]
    public void Enum_PascalCase_IsNotAccepted()
    {
        // Values are written in camelCase; accepting the C# spelling too would make two spellings of one document.
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\nloadBalancing: RoundRobin"), "services.users.loadBalancing");

        Assert.Contains("roundRobin", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user service")]
    [InlineData("-users")]
    [InlineData("users/v2")]
    [InlineData("\"\"")]
    public void Name_WithBadCharacters_IsRejected(string name)
    {
        var text = $"""
            version: 1
            services:
              {name}:
                targets: [http://127.0.0.1:5001]
            """;

        var result = ConfigText.Load(text);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("services.", error.Path, StringComparison.Ordinal);
        Assert.Contains("must be 1-100 letters, digits, '-', '_' or '.'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_TooLong_IsRejected()
    {
        var name = new string('a', 101);

        var error = ConfigText.SingleError(ConfigText.WithRoutes($"{name}:\n  path: /a\n  service: users"), "routes." + name);

        Assert.Contains("1-100", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("users.v2")]
    [InlineData("2fa_service")]
    [InlineData("a")]
    public void Name_WithAllowedCharacters_IsAccepted(string name)
    {
        var c = ConfigText.Valid($"""
            version: 1
            services:
              {name}:
                targets: [http://127.0.0.1:5001]
            """);

        Assert.True(c.Services.ContainsKey(name));
    }
}
