using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Examples.Shop.Tests;

/// <summary>Small helpers that read responses as the gateway sees them: raw JSON, not the services' types.</summary>
internal static class Http
{
    /// <summary>GETs <paramref name="path"/>, asserts 200 with a JSON body, and returns the body.</summary>
    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>POSTs <paramref name="json"/> as the body of a request to <paramref name="path"/>.</summary>
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    /// <summary>Asserts an RFC 9457 problem with <paramref name="status"/> and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("type").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    /// <summary>GETs <paramref name="path"/> and asserts an RFC 9457 problem with <paramref name="status"/>.</summary>
    public static async Task<JsonElement> GetProblemAsync(this HttpClient client, string path, HttpStatusCode status)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return await AssertProblemAsync(response, status);
    }

    public static int[] Ids(this JsonElement array) =>
        array.EnumerateArray().Select(e => e.GetProperty("id").GetInt32()).ToArray();

    public static string[] PropertyNames(this JsonElement obj) =>
        obj.EnumerateObject().Select(p => p.Name).ToArray();
}
