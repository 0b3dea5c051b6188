using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>Issue 22's demo contract: the model alias 'demo' behind the retail key, whole and streamed.</summary>
public sealed partial class DemoAiTests
{
    [Fact]
    public async Task Demo_ChatResponsesMessagesAndEmbeddings_AnswerInTheirFormatsWithUsage_AndStream()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        await demo.WaitForOutputAsync(KeyLine(), TimeSpan.FromSeconds(30));
        var key = KeyLine().Match(demo.StandardOutput).Groups[1].Value;
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);

        // As the README's curl sends it: no Content-Type beyond curl's form default.
        var response = await client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"demo","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var completion = JsonDocument.Parse(text).RootElement;
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal("You said: hi", completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(4, completion.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var streamed = await client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var events = await streamed.Content.ReadAsStringAsync();
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"content\":\" said:\"", events, StringComparison.Ordinal); // one chunk per word
        Assert.EndsWith("data: [DONE]\n\n", events, StringComparison.Ordinal);

        // OpenAI's Responses API on the same alias, whole and streamed (typed events ending in response.completed).
        var answered = await client.PostAsync("/v1/responses", new StringContent("""{"model":"demo","input":"hi"}""", Encoding.UTF8, "application/json"));
        var answer = JsonDocument.Parse(await answered.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("You said: hi", answer.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(4, answer.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(3, answer.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        var responseEvents = await (await client.PostAsync("/v1/responses", new StringContent("""{"model":"demo","stream":true,"input":"hi"}""", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        Assert.Contains("event: response.output_text.delta\ndata: ", responseEvents, StringComparison.Ordinal);
        Assert.Contains("event: response.completed\n", responseEvents, StringComparison.Ordinal);

        // A conversation, as the README makes one: kept by the demo's gateway, and a call in it adds its input and output.
        var made = await client.PostAsync("/v1/conversations", new StringContent("{}", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var conversation = JsonDocument.Parse(await made.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        Assert.StartsWith("conv_", conversation, StringComparison.Ordinal);
        var inConversation = await client.PostAsync("/v1/responses", new StringContent($$"""{"model":"demo","input":"hi","conversation":"{{conversation}}"}""", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, inConversation.StatusCode);
        var conversationItems = JsonDocument.Parse(await client.GetStringAsync($"/v1/conversations/{conversation}/items?order=asc")).RootElement.GetProperty("data");
        Assert.Equal(["user", "assistant"], conversationItems.EnumerateArray().Select(i => i.GetProperty("role").GetString()));
        Assert.Equal("You said: hi", conversationItems[1].GetProperty("content")[0].GetProperty("text").GetString());

        // Anthropic's Messages API on the same alias, translated for its first provider (OpenAI's API): Anthropic's shape, whole and streamed.
        var claude = await client.PostAsync("/v1/messages", new StringContent("""{"model":"demo","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var claudeText = await claude.Content.ReadAsStringAsync();
        Assert.True(claude.StatusCode == HttpStatusCode.OK, claudeText);
        var message = JsonDocument.Parse(claudeText).RootElement;
        Assert.Equal("You said: hi", message.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(4, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        var claudeEvents = await (await client.PostAsync("/v1/messages", new StringContent("""{"model":"demo","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        Assert.StartsWith("event: message_start\n", claudeEvents, StringComparison.Ordinal);
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", claudeEvents, StringComparison.Ordinal);

        // Embeddings on the same alias, as the comment in the demo's config says: floats, and base64 (what the
        // official OpenAI clients ask for) holding the same float32 values; equal inputs get equal vectors.
        var embedded = await client.PostAsync("/v1/embeddings", new StringContent("""{"model":"demo","input":["hello world","hello world","other words here"]}""", Encoding.UTF8, "application/json"));
        var embeddedText = await embedded.Content.ReadAsStringAsync();
        Assert.True(embedded.StatusCode == HttpStatusCode.OK, embeddedText);
        var embeddings = JsonDocument.Parse(embeddedText).RootElement;
        Assert.Equal(7, embeddings.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        var vectors = embeddings.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(3, vectors.Length);
        Assert.Equal(vectors[0], vectors[1]);
        Assert.NotEqual(vectors[0], vectors[2]);
        Assert.Equal(1.0, Math.Sqrt(vectors[2].Sum(x => (double)x * x)), 3);
        var encoded = JsonDocument.Parse(await (await client.PostAsync("/v1/embeddings", new StringContent("""{"model":"demo","input":"hello world","encoding_format":"base64"}""", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync()).RootElement;
        var bytes = Convert.FromBase64String(encoded.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(vectors[0], Enumerable.Range(0, bytes.Length / 4).Select(i => BitConverter.ToSingle(bytes, i * 4)));

        var models = await client.GetStringAsync("/v1/models");
        Assert.Contains("\"id\":\"demo\"", models, StringComparison.Ordinal);

        client.DefaultRequestHeaders.Remove("X-Api-Key");
        var anonymous = await client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"demo","messages":[]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"^demo key retail: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();
}
