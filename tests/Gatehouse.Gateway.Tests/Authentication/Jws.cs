using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>
/// Builds compact JWS tokens by hand, so the corpus can hold what a JWT library would refuse to make:
/// <c>alg: none</c>, HS256 keyed with a public key, hostile headers.
/// </summary>
internal static class Jws
{
    public const string Issuer = "https://login.example.test/";
    public const string Audience = "https://api.example.test";

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    /// <summary>Good claims at <paramref name="now"/>: valid for five minutes, application <c>shop-app</c>.</summary>
    public static Dictionary<string, object?> Claims(DateTimeOffset now) => new()
    {
        ["iss"] = Issuer,
        ["aud"] = Audience,
        ["sub"] = "user-42",
        ["azp"] = "shop-app",
        ["iat"] = now.ToUnixTimeSeconds(),
        ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
        ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
    };

    public static Dictionary<string, object?> Header(SigningKey key) => new() { ["alg"] = key.Alg, ["typ"] = "JWT", ["kid"] = key.Kid };

    /// <summary>Signs with <paramref name="key"/>; <paramref name="header"/> defaults to the key's alg and kid.</summary>
    public static string Sign(SigningKey key, Dictionary<string, object?> claims, Dictionary<string, object?>? header = null)
    {
        var input = SigningInput(header ?? Header(key), claims);
        return input + "." + B64(key.Sign(Encoding.ASCII.GetBytes(input)));
    }

    /// <summary>HMAC-SHA256 with <paramref name="secret"/> as the key, whatever the header says.</summary>
    public static string Hs256(byte[] secret, Dictionary<string, object?> header, Dictionary<string, object?> claims)
    {
        var input = SigningInput(header, claims);
        return input + "." + B64(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));
    }

    /// <summary>An unsecured JWS: <c>alg: none</c> and an empty signature.</summary>
    public static string Unsigned(Dictionary<string, object?> claims, string? kid = null) =>
        SigningInput(new() { ["alg"] = "none", ["typ"] = "JWT", ["kid"] = kid }, claims) + ".";

    private static string SigningInput(Dictionary<string, object?> header, Dictionary<string, object?> claims) =>
        B64(JsonSerializer.Serialize(header.Where(h => h.Value is not null).ToDictionary())) + "." + B64(JsonSerializer.Serialize(claims));
}
