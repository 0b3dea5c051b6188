using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Tests.Support;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Responses kept in Redis (<c>ai.responses.redis</c>): two gateway nodes on one real redis-server, a conversation begun
/// at one going on at the other, and what a Redis that does not answer does.
/// </summary>
[Trait("Issue", "22")]
public sealed class ResponsesKeptInRedisTests
{
    private static string Kept(RedisServer redis) => $"      responses: {{ ttl: 1h, redis: \"{redis.Configuration}\" }}";

    [Fact]
    public async Task AConversationBegunAtOneNode_GoesOnAtTheOther_AndADeleteThereIsSeenHere()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var key = TestKey.New();
        await using var one = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key);
        await using var two = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key);

        ResponseResult first = await one.OpenAI().GetResponsesClient().CreateResponseAsync(new CreateResponseOptions { Model = "fast", InputItems = { ResponseItem.CreateUserMessageItem("hi") } });
        ResponseResult second = await two.OpenAI().GetResponsesClient().CreateResponseAsync(new CreateResponseOptions { Model = "fast", PreviousResponseId = first.Id, InputItems = { ResponseItem.CreateUserMessageItem("again") } });

        var input = Assert.Single(two.Providers[0].Received).Body["input"]!.AsArray();
        Assert.Equal(3, input.Count);
        Assert.Equal("""{"role":"assistant","content":"w1 w2 w3 w4 w5"}""", input[1]!.ToJsonString());

        // Streamed at the first node, continuing the second node's response: the chain of three is read at once.
        var text = new StringBuilder();
        await foreach (var update in await one.OpenAI().GetResponsesClient().CreateResponseStreamingAsync(new CreateResponseOptions { Model = "fast", StreamingEnabled = true, PreviousResponseId = second.Id, InputItems = { ResponseItem.CreateUserMessageItem("more") } }))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.Equal(5, one.Providers[0].Received.Last().Body["input"]!.AsArray().Count);

        ResponseResult got = await one.OpenAI().GetResponsesClient().GetResponseAsync(second.Id);
        Assert.Equal(second.Id, got.Id);
        using (var deleted = await two.SendAsync(key, HttpMethod.Delete, "/v1/responses/" + first.Id))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using var gone = await one.SendAsync(key, HttpMethod.Get, "/v1/responses/" + first.Id);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        // A conversation whose first response is gone cannot go on, at either node.
        using var broken = await two.SendAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"x","previous_response_id":"{{second.Id}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
    }

    [Fact]
    public async Task WhileRedisDoesNotAnswer_ContinuingAnswers503_AndNewCallsAreStillServed()
    {
        var redis = await RedisServer.StartNewAsync();
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis));
        var first = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");
        await redis.StopAsync();

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"x","previous_response_id":"{{first}}"}"""))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("responses_unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Get, "/v1/responses/" + first))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        Assert.StartsWith("resp_", await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"still"}"""), StringComparison.Ordinal);
        Assert.Equal(2, kit.Providers[0].Received.Count);

        // Back (empty: the test's Redis keeps nothing on disk), new responses are kept again.
        await redis.StartAsync();
        await Wait.UntilAsync(async () =>
        {
            var id = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"back"}""");
            using var response = await kit.SendAsync(kit.Key, HttpMethod.Get, "/v1/responses/" + id);
            return response.StatusCode == HttpStatusCode.OK;
        }, "a response kept and read once Redis is back");
        await redis.DisposeAsync();
    }
}
