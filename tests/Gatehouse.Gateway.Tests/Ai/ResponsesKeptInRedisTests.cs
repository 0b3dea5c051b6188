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
    public async Task AConversationMadeAtOneNode_IsUsedAndChangedAtTheOther()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var key = TestKey.New();
        var other = TestKey.New();
        await using var one = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key, secondKey: other);
        await using var two = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key, secondKey: other);
        var id = (await one.OkAsync(key, HttpMethod.Post, "/v1/conversations", """{"items":[{"role":"user","content":"hi"}],"metadata":{"n":"1"}}"""))["id"]!.GetValue<string>();

        // Two calls at the other node: the provider is sent the whole conversation; the fake's same item id twice is made unique.
        await two.OkAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"again"}""");
        await two.OkAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"more"}""");
        Assert.Equal(
            """[{"role":"user","content":"hi"},{"role":"user","content":"again"},{"role":"assistant","content":"w1 w2 w3 w4 w5"},{"role":"user","content":"more"}]""",
            two.Providers[0].Received.Last().Body["input"]!.ToJsonString());
        var items = (await one.OkAsync(key, HttpMethod.Get, $"/v1/conversations/{id}/items?order=asc"))["data"]!.AsArray();
        Assert.Equal(5, items.Select(i => i!["id"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal("""{"n":"1"}""", (await two.OkAsync(key, HttpMethod.Get, "/v1/conversations/" + id))["metadata"]!.ToJsonString());

        // Changed at one node, seen at the other; another application sees nothing.
        var second = items[1]!["id"]!.GetValue<string>();
        await one.OkAsync(key, HttpMethod.Delete, $"/v1/conversations/{id}/items/{second}");
        await one.OkAsync(key, HttpMethod.Post, "/v1/conversations/" + id, """{"metadata":{"n":"2"}}""");
        var added = await two.OkAsync(key, HttpMethod.Post, $"/v1/conversations/{id}/items", $$"""{"items":[{"id":"{{items[0]!["id"]}}","role":"user","content":"same id"}]}""");
        Assert.NotEqual(items[0]!["id"]!.GetValue<string>(), added["first_id"]!.GetValue<string>());
        var now = (await two.OkAsync(key, HttpMethod.Get, $"/v1/conversations/{id}/items?order=asc"))["data"]!.AsArray();
        Assert.Equal(5, now.Count);
        Assert.DoesNotContain(now, i => i!["id"]!.GetValue<string>() == second);
        Assert.Equal("""{"n":"2"}""", (await two.OkAsync(key, HttpMethod.Get, "/v1/conversations/" + id))["metadata"]!.ToJsonString());
        using (var foreign = await two.SendAsync(other, HttpMethod.Get, $"/v1/conversations/{id}/items"))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        }

        // A response's id is not a conversation's, nor the other way round.
        var responseId = await one.CreateResponseAsync(key, """{"model":"fast","input":"alone"}""");
        using (var mixed = await two.SendAsync(key, HttpMethod.Get, "/v1/conversations/" + responseId))
        {
            Assert.Equal(HttpStatusCode.NotFound, mixed.StatusCode);
        }

        foreach (var path in new[] { "/v1/responses/" + id, $"/v1/responses/{id}:items", $"/v1/conversations/{id}:items" })
        {
            using var mixed = await two.SendAsync(key, HttpMethod.Get, path); // the items' list is not a string: a miss, not an error
            Assert.Equal(HttpStatusCode.NotFound, mixed.StatusCode);
        }

        // Items added at once at both nodes, all with the same id: each push sees the others', and every id stays unique.
        var adds = Enumerable.Range(0, 24).Select(i => (i % 2 == 0 ? one : two).OkAsync(key, HttpMethod.Post, $"/v1/conversations/{id}/items", """{"items":[{"id":"same","role":"user","content":"x"}]}"""));
        await Task.WhenAll(adds);
        var all = (await one.OkAsync(key, HttpMethod.Get, $"/v1/conversations/{id}/items?limit=100"))["data"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(29, all.Length);
        Assert.Equal(29, all.Distinct().Count());

        await two.OkAsync(key, HttpMethod.Delete, "/v1/conversations/" + id);
        using var gone = await one.SendAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task ItemsAddedAtOnce_ToAConversationInRedis_AreAllKept_EachWithAnIdOfItsOwn()
    {
        await using var redis = await RedisServer.StartNewAsync();
        using var store = new Gatehouse.Gateway.Ai.RedisResponses(redis.Configuration, "llm", Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var config = new Gatehouse.Model.Config.AiResponsesConfig { Ttl = TimeSpan.FromHours(1) };
        Assert.True(await store.CreateConversationAsync(new Gatehouse.Gateway.Ai.Conversation("conv_1", "app", 1, "{}"u8.ToArray(), []), config));

        var adds = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () =>
            await store.AppendAsync("app", "conv_1", [new Gatehouse.Gateway.Ai.ConversationItem("same", false, """{"role":"user","content":"x"}"""u8.ToArray())], config))));

        Assert.All(adds, added => Assert.Equal(Gatehouse.Gateway.Ai.AiResponses.Appended.Done, added.Outcome));
        var ids = (await store.ConversationAsync("app", "conv_1", config.Ttl))!.Items.Select(item => item.Id).ToArray();
        Assert.Equal(40, ids.Length);
        Assert.Equal(40, ids.Distinct().Count());
        Assert.Equal(ids.Order(), adds.Select(added => Assert.Single(added.Added).Id).Order()); // each call was told the id it got

        // A call that read the conversation before another added to it: its items still go after, with ids of their own.
        var seen = await store.ConversationAsync("app", "conv_1", config.Ttl);
        await store.AppendAsync("app", "conv_1", [new Gatehouse.Gateway.Ai.ConversationItem("late", false, "{}"u8.ToArray())], config);
        var (outcome, added) = await store.AppendAsync("app", "conv_1", [new Gatehouse.Gateway.Ai.ConversationItem("late", false, "{}"u8.ToArray())], config, seen);
        Assert.Equal(Gatehouse.Gateway.Ai.AiResponses.Appended.Done, outcome);
        var after = (await store.ConversationAsync("app", "conv_1", config.Ttl))!.Items.Select(item => item.Id).ToArray();
        Assert.Equal(42, after.Distinct().Count());
        Assert.Equal(["late", Assert.Single(added).Id], after[^2..]);
        Assert.NotEqual("late", after[^1]);

        // Both keys expire with the conversation; nothing is added to one deleted meanwhile, and no list is left behind.
        using var direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = direct.GetDatabase();
        Assert.True(await store.CreateConversationAsync(new Gatehouse.Gateway.Ai.Conversation("conv_3", "app", 1, "{}"u8.ToArray(), []), config));
        await store.AppendAsync("app", "conv_3", [new Gatehouse.Gateway.Ai.ConversationItem("first", false, "{}"u8.ToArray())], config); // the list made by the append
        var conversationTtl = await database.KeyTimeToLiveAsync("gatehouse:ai:{llm/app}:conv_3");
        var itemsTtl = await database.KeyTimeToLiveAsync("gatehouse:ai:{llm/app}:conv_3:items");
        Assert.InRange(conversationTtl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.InRange(itemsTtl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.True(await store.CreateConversationAsync(new Gatehouse.Gateway.Ai.Conversation("conv_2", "app", 1, "{}"u8.ToArray(), []), config));
        var empty = await store.ConversationAsync("app", "conv_2", config.Ttl);
        Assert.True(await store.DeleteConversationAsync("app", "conv_2"));
        var (gone, _) = await store.AppendAsync("app", "conv_2", [new Gatehouse.Gateway.Ai.ConversationItem("x", false, "{}"u8.ToArray())], config, empty);
        Assert.Equal(Gatehouse.Gateway.Ai.AiResponses.Appended.NotFound, gone);
        Assert.False(await database.KeyExistsAsync("gatehouse:ai:{llm/app}:conv_2:items"));

        // An application that left: every key of its slot goes, and only those (its id's pattern characters are its own).
        foreach (var application in new[] { "a*", "ab" })
        {
            Assert.True(await store.CreateConversationAsync(new Gatehouse.Gateway.Ai.Conversation("conv_9", application, 1, "{}"u8.ToArray(), [new Gatehouse.Gateway.Ai.ConversationItem("m", false, "{}"u8.ToArray())]), config));
            await store.AddAsync(new Gatehouse.Gateway.Ai.AiResponses.Entry("resp_9", application, [], "[]"u8, "[]"u8, """{"output":[{"id":"msg_9"}]}"""u8), config);
        }

        await store.ForgetAsync(["app", "a*"]);
        var left = new List<string>();
        await foreach (var key in direct.GetServers()[0].KeysAsync(pattern: "gatehouse:ai:*"))
        {
            left.Add(key.ToString());
        }

        Assert.Equal(["gatehouse:ai:{llm/ab}:conv_9", "gatehouse:ai:{llm/ab}:conv_9:items", "gatehouse:ai:{llm/ab}:item:msg_9", "gatehouse:ai:{llm/ab}:resp_9"], left.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AnItemReference_ToAnAnswerMadeAtOneNode_IsServedAtTheOther_AndAmbiguousIdsAreMarkedInRedis()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var key = TestKey.New();
        await using var one = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key);
        await using var two = await AiKit.StartAsync(providerCount: 1, aiExtra: Kept(redis), key: key);
        one.Providers[0].UniqueItemIds = true;

        // The Vercel AI SDK's three turns, each at either node (its references made at one, served at the other).
        var report = await ItemReferenceTests.RunSdkAsync(one, turns: 2, stream: false);
        Assert.True(report["error"] is null, report.ToJsonString());
        var answer = await one.OkAsync(key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"hi"}""");
        var itemId = answer["output"]![0]!["id"]!.GetValue<string>();
        await two.OkAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"{{itemId}}"}]}""");
        var sent = Assert.Single(two.Providers[0].Received).Body["input"]!.AsArray();
        Assert.Equal(new JsonObject { ["role"] = "assistant", ["content"] = answer["output"]![0]!["content"]![0]!["text"]!.GetValue<string>() }.ToJsonString(), sent[1]!.ToJsonString());

        // The index's keys expire with their responses. The second node's provider repeats msg_fake (the call above kept one):
        // found while one response holds it, ambiguous once two do.
        using var direct = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var ttl = await direct.GetDatabase().KeyTimeToLiveAsync($"gatehouse:ai:{{llm/app}}:item:{itemId}");
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        await one.OkAsync(key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":[{"type":"item_reference","id":"msg_fake"}]}""");
        await two.CreateResponseAsync(key, """{"model":"fast","input":"b"}""");
        Assert.Equal("*", (string?)await direct.GetDatabase().StringGetAsync("gatehouse:ai:{llm/app}:item:msg_fake"));
        using var ambiguous = await one.SendAsync(key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":[{"type":"item_reference","id":"msg_fake"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, ambiguous.StatusCode);
        Assert.Contains("item_reference_ambiguous", await ambiguous.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A deleted response's items are not found, though their index keys are left to expire.
        using (var deleted = await two.SendAsync(key, HttpMethod.Delete, "/v1/responses/" + answer["id"]!.GetValue<string>()))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using var gone = await two.SendAsync(key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":[{"type":"item_reference","id":"{{itemId}}"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, gone.StatusCode);
        Assert.Contains("item_not_found", await gone.Content.ReadAsStringAsync(), StringComparison.Ordinal);
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

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":[{"type":"item_reference","id":"msg_fake"}]}"""))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("responses_unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
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
