using System.Text.Json;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Services;

/// <summary><c>services.NAME.credential</c>: the gateway's own credential for a service, named by an environment variable (issue #4, item 6).</summary>
public sealed class ServiceCredentialConfigTests
{
    private const string Secret = "s3cr3t-orders-token";

    private static readonly Dictionary<string, string> Env = new() { ["ORDERS_TOKEN"] = Secret };

    private static string Service(string credential) => ConfigText.WithService($"""
        targets: [http://127.0.0.1:5001]
        credential:
        {ConfigText.Indent(credential, 2)}
        """);

    [Fact]
    public void Credential_WithOnlyEnv_GoesInAuthorization_WithTheVariablesValue()
    {
        var config = ConfigText.Valid(Service("env: ORDERS_TOKEN"), Env);

        var credential = Assert.IsType<ServiceCredentialConfig>(config.Services["users"].Credential);
        Assert.Equal("Authorization", credential.Header);
        Assert.Equal("", credential.Prefix);
        Assert.Equal("ORDERS_TOKEN", credential.Env);
        Assert.Equal(Secret, credential.Value);
    }

    [Fact]
    public void Credential_WithHeaderAndPrefix_WritesThePrefixBeforeTheSecret()
    {
        var config = ConfigText.Valid(Service("""
            header: X-Service-Token
            prefix: "Bearer "
            env: ORDERS_TOKEN
            """), Env);

        var credential = config.Services["users"].Credential!;
        Assert.Equal("X-Service-Token", credential.Header);
        Assert.Equal("Bearer " + Secret, credential.Value);
    }

    [Fact]
    public void Credential_VariableNotSet_IsAnErrorAtEnv_ThatSaysWhereToSetIt()
    {
        var error = ConfigText.SingleError(Service("env: ORDERS_TOKEN"), "services.users.credential.env");

        Assert.Contains("'ORDERS_TOKEN' is not set on this node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_VariableSetButEmpty_IsAnError()
    {
        ConfigText.SingleError(Service("env: ORDERS_TOKEN"), "services.users.credential.env", new Dictionary<string, string> { ["ORDERS_TOKEN"] = "" });
    }

    [Fact]
    public void Credential_WithoutEnv_IsAnError()
    {
        ConfigText.SingleError(Service("header: Authorization"), "services.users.credential.env", Env);
    }

    [Theory]
    [InlineData("Bearer abc")]
    [InlineData("${ORDERS_TOKEN}")]
    [InlineData("1TOKEN")]
    public void Credential_EnvThatIsNotAVariableName_IsAnError_SoASecretIsNeverWrittenThere(string env)
    {
        var error = ConfigText.SingleError(Service($"env: \"{env}\""), "services.users.credential.env", Env);

        Assert.Contains("not an environment variable name", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host")]
    [InlineData("content-length")]
    [InlineData("Content-Language")]
    [InlineData("X-Forwarded-For")]
    [InlineData("X-Request-Id")]
    [InlineData("Gatehouse-Plan")]
    [InlineData("Transfer-Encoding")]
    public void Credential_InAHeaderTheGatewayOwns_IsAnError(string header)
    {
        var error = ConfigText.SingleError(Service($"""
            header: {header}
            env: ORDERS_TOKEN
            """), "services.users.credential.header", Env);

        Assert.Contains("itself", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_HeaderThatIsNotAToken_IsAnError()
    {
        ConfigText.SingleError(Service("""
            header: "X Token"
            env: ORDERS_TOKEN
            """), "services.users.credential.header", Env);
    }

    [Theory]
    [InlineData("abc\r\nX-Injected: 1")]
    [InlineData("abc\0")]
    public void Credential_ValueWithCrLfOrNul_IsAnError_ThatDoesNotEchoTheSecret(string value)
    {
        var error = ConfigText.SingleError(Service("env: ORDERS_TOKEN"), "services.users.credential.env", new Dictionary<string, string> { ["ORDERS_TOKEN"] = value });

        Assert.DoesNotContain("abc", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_UnknownKey_IsAnError()
    {
        ConfigText.SingleError(Service("""
            env: ORDERS_TOKEN
            value: Bearer abc
            """), "services.users.credential.value", Env);
    }

    [Fact]
    public void LoadedWithoutReadingSecrets_AnUnsetVariableIsValid_AndTheNameIsStillChecked()
    {
        var config = ConfigLoader.Load(Service("env: ORDERS_TOKEN"), Path.GetTempPath(), _ => null, readSecrets: false);
        Assert.True(config.IsValid, string.Join("\n", config.Errors));
        var credential = config.Config!.Services["users"].Credential!;
        Assert.Equal("ORDERS_TOKEN", credential.Env);
        Assert.Equal("", credential.Value);

        var reference = ConfigLoader.Load(Service("env: \"${ORDERS_TOKEN}\""), Path.GetTempPath(), Env.GetValueOrDefault, readSecrets: false);
        Assert.Equal("services.users.credential.env", Assert.Single(reference.Errors).Path);
    }

    [Fact]
    public void TheSecret_IsNeitherSerializedNorPrinted()
    {
        var config = ConfigText.Valid(Service("env: ORDERS_TOKEN"), Env);
        var service = config.Services["users"];

        Assert.DoesNotContain(Secret, JsonSerializer.Serialize(service), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, service.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, service.Credential!.ToString(), StringComparison.Ordinal);
        Assert.Contains("ORDERS_TOKEN", service.Credential.ToString(), StringComparison.Ordinal);
    }
}
