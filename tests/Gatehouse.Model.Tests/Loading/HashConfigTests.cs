using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

/// <summary><c>loadBalancing: hash</c> and what it hashes.</summary>
public sealed class HashConfigTests
{
    [Fact]
    public void Hash_WithoutHashSettings_HashesTheClientsAddress()
    {
        var result = ConfigText.Load(ConfigText.WithService("targets: [http://127.0.0.1:5001]\nloadBalancing: hash"));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var service = result.Config!.Services["users"];
        Assert.Equal(LoadBalancingPolicy.Hash, service.LoadBalancing);
        Assert.Null(service.Hash);
    }

    [Theory]
    [InlineData("{ on: header, name: X-User-Id }", HashSource.Header, "X-User-Id")]
    [InlineData("{ on: cookie, name: session }", HashSource.Cookie, "session")]
    [InlineData("{ on: query, name: user }", HashSource.Query, "user")]
    [InlineData("{ on: application }", HashSource.Application, null)]
    [InlineData("{ on: path }", HashSource.Path, null)]
    [InlineData("{ on: clientIp }", HashSource.ClientIp, null)]
    public void Hash_Binds(string hash, HashSource on, string? name)
    {
        var result = ConfigText.Load(ConfigText.WithService($"targets: [http://127.0.0.1:5001]\nloadBalancing: hash\nhash: {hash}"));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(new HashConfig { On = on, Name = name }, result.Config!.Services["users"].Hash);
    }

    [Theory]
    [InlineData("loadBalancing: hash\nhash: { on: header }", "services.users.hash.name", "add e.g. 'name: X-User-Id'")]
    [InlineData("loadBalancing: hash\nhash: { on: cookie }", "services.users.hash.name", "'on: cookie' hashes the cookie named by 'name'")]
    [InlineData("loadBalancing: hash\nhash: { on: clientIp, name: X-Forwarded-For }", "services.users.hash.name", "remove 'name'")]
    [InlineData("loadBalancing: hash\nhash: { on: header, name: '' }", "services.users.hash.name", "empty")]
    [InlineData("hash: { on: path }", "services.users.hash", "add 'loadBalancing: hash'")]
    [InlineData("loadBalancing: hash\nhash: { on: body }", "services.users.hash.on", "clientIp, header, cookie, query, application, path")]
    public void Hash_Mistakes_SayWhereAndHowToFix(string lines, string path, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\n" + lines), path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
