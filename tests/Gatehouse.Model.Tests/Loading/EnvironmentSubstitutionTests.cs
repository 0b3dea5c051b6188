using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

public sealed class EnvironmentSubstitutionTests
{
    private static string ServiceWithTarget(string target) => ConfigText.WithService($"""
        targets: ["{target}"]
        """);

    [Fact]
    public void Variable_Set_IsSubstituted()
    {
        var c = ConfigText.Valid(ServiceWithTarget("http://${USERS_HOST}:5001"), new Dictionary<string, string> { ["USERS_HOST"] = "10.1.2.3" });

        Assert.Equal("http://10.1.2.3:5001", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Variable_SeveralInOneValue_AreAllSubstituted()
    {
        var c = ConfigText.Valid(ServiceWithTarget("${SCHEME}://${HOST}:${PORT}/base"), new Dictionary<string, string>
        {
            ["SCHEME"] = "https",
            ["HOST"] = "users.internal",
            ["PORT"] = "8443",
        });

        Assert.Equal("https://users.internal:8443/base", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Variable_UnsetWithDefault_UsesTheDefault()
    {
        var c = ConfigText.Valid(ServiceWithTarget("http://${USERS_HOST:-127.0.0.1}:5001"));

        Assert.Equal("http://127.0.0.1:5001", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Variable_SetWithDefault_UsesTheVariable()
    {
        var c = ConfigText.Valid(ServiceWithTarget("http://${USERS_HOST:-127.0.0.1}:5001"), new Dictionary<string, string> { ["USERS_HOST"] = "10.9.9.9" });

        Assert.Equal("http://10.9.9.9:5001", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Variable_SetButEmptyWithDefault_UsesTheDefault()
    {
        // ':-' means "unset or empty", as in the shell and Docker Compose the syntax comes from.
        var c = ConfigText.Valid(ServiceWithTarget("http://${USERS_HOST:-127.0.0.1}:5001"), new Dictionary<string, string> { ["USERS_HOST"] = "" });

        Assert.Equal("http://127.0.0.1:5001", c.Services["users"].Targets[0].Url);
    }

    [Fact]
    public void Variable_Missing_IsAnErrorAtTheValuesPath()
    {
        var error = ConfigText.SingleError(ServiceWithTarget("http://${USERS_HOST}:5001"), "services.users.targets[0]");

        Assert.Equal("environment variable 'USERS_HOST' is not set; set it, or give a default with ${USERS_HOST:-value}.", error.Message);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void Variable_MissingInANumber_IsAnErrorAtTheNumbersPath()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets:
              - url: http://127.0.0.1:5001
                weight: ${USERS_WEIGHT}
            """), "services.users.targets[0].weight");

        Assert.Contains("'USERS_WEIGHT' is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Variable_InANumber_IsParsedAfterSubstitution()
    {
        var c = ConfigText.Valid(ConfigText.WithService("""
            targets:
              - url: http://127.0.0.1:5001
                weight: ${USERS_WEIGHT}
            timeout: ${USERS_TIMEOUT:-2s}
            """), new Dictionary<string, string> { ["USERS_WEIGHT"] = "4" });

        Assert.Equal(4, c.Services["users"].Targets[0].Weight);
        Assert.Equal(TimeSpan.FromSeconds(2), c.Services["users"].Timeout);
    }

    [Fact]
    public void DoubleDollar_IsALiteralDollarAndNotAVariable()
    {
        var c = ConfigText.Valid(ConfigText.WithService("""
            targets: [http://127.0.0.1:5001]
            healthCheck:
              active:
                path: /health/$${NOT_A_VAR}/$$
            """));

        Assert.Equal("/health/${NOT_A_VAR}/$", c.Services["users"].HealthCheck!.Active!.Path);
    }

    [Fact]
    public void LoneDollar_IsKeptAsItIs()
    {
        var c = ConfigText.Valid(ConfigText.WithService("""
            targets: [http://127.0.0.1:5001]
            healthCheck:
              active:
                path: /cost/$5/$
            """));

        Assert.Equal("/cost/$5/$", c.Services["users"].HealthCheck!.Active!.Path);
    }

    [Fact]
    public void Variable_NotClosed_SaysHowToEscape()
    {
        var error = ConfigText.SingleError(ServiceWithTarget("http://${USERS_HOST:5001"), "services.users.targets[0]");

        Assert.Contains("$$", error.Message, StringComparison.Ordinal);
        Assert.Contains("not closed", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("${}")]
    [InlineData("${:-x}")]
    [InlineData("${USERS HOST}")]
    [InlineData("${1HOST}")]
    public void Variable_BadName_SaysItIsNotAVariableName(string reference)
    {
        var error = ConfigText.SingleError(ServiceWithTarget($"http://{reference}:5001"), "services.users.targets[0]");

        Assert.Contains("is not a variable name", error.Message, StringComparison.Ordinal);
        Assert.Contains("$$", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(": {x: 1}")]
    [InlineData("\n  extra: 1")]
    [InlineData("\"]\nroutes: {}")]
    [InlineData("${OTHER}")]
    public void Variable_ValueWithYamlSyntax_StaysAPlainString(string value)
    {
        var env = new Dictionary<string, string> { ["SUFFIX"] = value, ["OTHER"] = "leak" };

        var c = ConfigText.Valid(ConfigText.WithService("""
            targets: [http://127.0.0.1:5001]
            healthCheck:
              active:
                path: /status${SUFFIX}
            """), env);

        Assert.Equal("/status" + value, c.Services["users"].HealthCheck!.Active!.Path);
        Assert.Equal(["users"], c.Services.Keys);
        Assert.Empty(c.Routes);
    }

    [Fact]
    public void Variable_InAKey_IsNotSubstituted()
    {
        // Keys are structure; only values are substituted, so a variable can never add or rename a key.
        var error = ConfigText.SingleError("""
            version: 1
            services:
              ${NAME}:
                targets: [http://127.0.0.1:5001]
            """, "services.${NAME}", new Dictionary<string, string> { ["NAME"] = "users" });

        Assert.Contains("must be 1-100 letters", error.Message, StringComparison.Ordinal);
    }
}
