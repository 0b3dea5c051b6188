using Gatehouse.Model.Policies;

namespace Gatehouse.Model.Tests.Policies;

/// <summary>
/// Issue 23: an exact origin's <see cref="CorsOrigin.Serialized"/> form lets the gateway allow the common Origin header
/// with one string comparison; it must be exactly the value that parsing would allow, and nothing else.
/// </summary>
[Trait("Issue", "23")]
public sealed class CorsOriginTests
{
    [Theory]
    [InlineData("https://app.example.com", "https://app.example.com")]
    [InlineData("https://APP.Example.com", "https://app.example.com")]
    [InlineData("http://[::1]:3000", "http://[::1]:3000")]
    [InlineData("http://localhost:8080", "http://localhost:8080")]
    [InlineData("http://127.0.0.1", "http://127.0.0.1")]
    [InlineData("https://bücher.example", "https://xn--bcher-kva.example")]
    public void ExactOrigin_IsSerializedAsABrowserSendsIt_AndThatValueParsesBackToIt(string configured, string expected)
    {
        var entry = CorsOrigin.Parse(configured, out var error);
        Assert.Null(error);
        Assert.Equal(expected, entry!.Serialized);
        Assert.True(CorsOrigin.TryRead(entry.Serialized!, out var read));
        Assert.True(entry.Matches(read));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://*.example.com")]
    public void PatternsAndAny_HaveNoSerializedForm(string configured) =>
        Assert.Null(CorsOrigin.Parse(configured, out _)!.Serialized);

    [Theory]
    [InlineData("https://app.example.com")]
    [InlineData("http://localhost:8080")]
    [InlineData("http://[::1]:3000")]
    [InlineData("https://bücher.example")]
    public void TheSerializedForm_IsOneOfTheValuesParsingAllows_AndNoValueParsingRefusesEqualsIt(string configured)
    {
        var entry = CorsOrigin.Parse(configured, out _)!;
        string[] candidates =
        [
            "https://app.example.com", "https://APP.example.com", "https://app.example.com:443", "https://app.example.com/",
            "http://app.example.com", "https://app.example.com.evil.com", "http://localhost:8080", "http://localhost",
            "http://[::1]:3000", "http://[0:0:0:0:0:0:0:1]:3000", "https://xn--bcher-kva.example", "https://bücher.example", "null",
        ];
        var allowedByParsing = candidates.Where(v => CorsOrigin.TryRead(v, out var read) && entry.Matches(read)).ToList();

        // Other spellings parsing allows (upper case) still take the parsing path; the serialized one is among them.
        Assert.Contains(entry.Serialized, allowedByParsing);
        Assert.DoesNotContain(candidates.Except(allowedByParsing), v => v == entry.Serialized);
    }
}
