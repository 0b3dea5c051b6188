using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary><c>gatehouse key new</c>: a key shown once, and the hash config keeps.</summary>
public sealed class KeyCommandTests
{
    [Fact]
    public async Task KeyNew_Always_PrintsAFreshKeyAndItsSha256()
    {
        var first = await GatehouseProcess.RunAsync("key", "new");
        var second = await GatehouseProcess.RunAsync("key", "new");

        Assert.Equal(0, first.ExitCode);
        var key = Regex.Match(first.Stdout, @"^key:\s+(\S+)$", RegexOptions.Multiline).Groups[1].Value;
        var hash = Regex.Match(first.Stdout, @"^sha256:\s+(\S+)$", RegexOptions.Multiline).Groups[1].Value;
        Assert.Matches("^ghk_[A-Za-z0-9_-]{32}$", key);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), hash);
        Assert.DoesNotContain(key, second.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyNew_WithServicePrefix_UsesIt()
    {
        var (exit, stdout, _) = await GatehouseProcess.RunAsync("key", "new", "--prefix", "ghs_");

        Assert.Equal(0, exit);
        Assert.Matches(@"(?m)^key:\s+ghs_[A-Za-z0-9_-]{32}$", stdout);
    }

    [Fact]
    public async Task KeyNew_WithABadPrefix_Refuses()
    {
        var (exit, _, stderr) = await GatehouseProcess.RunAsync("key", "new", "--prefix", "a b");

        Assert.Equal(2, exit);
        Assert.Contains("--prefix", stderr, StringComparison.Ordinal);
    }
}
