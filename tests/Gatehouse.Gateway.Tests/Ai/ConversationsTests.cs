using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Conversations;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Conversations and Responses clients are marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// OpenAI's Conversations API kept by the gateway (<c>ai.responses</c>): conversations and their items per application,
/// and Responses calls that name one (<c>conversation</c>), with providers still called statelessly.
/// </summary>
[Trait("Issue", "22")]
public sealed class ConversationsTests
{
    [Fact]
    public async Task ACallInAConversation_IsSentItsItemsFirst_AndAddsItsInputAndOutputToIt()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var created = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations",
            """{"items":[{"type":"message","role":"system","content":"You speak French."}],"metadata":{"topic":"demo"}}""");
        var id = created["id"]!.GetValue<string>();
        Assert.Matches("^conv_[0-9a-f]{32}$", id);
        Assert.Equal("conversation", created["object"]!.GetValue<string>());
        Assert.Equal("""{"topic":"demo"}""", created["metadata"]!.ToJsonString());

        var first = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"hi"}""");
        Assert.Equal(id, first["conversation"]!["id"]!.GetValue<string>());
        Assert.Matches("^resp_[0-9a-f]{32}$", first["id"]!.GetValue<string>());
        var sent = kit.Providers[0].Received.Last().Body;
        Assert.Null(sent["conversation"]);
        Assert.False(sent["store"]!.GetValue<bool>());
        Assert.Equal("""[{"type":"message","role":"system","content":"You speak French."},{"role":"user","content":"hi"}]""", sent["input"]!.ToJsonString());

        // The second call, in the object form, is sent everything before it: the assistant's text as a message.
        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":{"id":"{{id}}"},"input":[{"role":"user","content":"again"}]}""");
        Assert.Equal(
            """[{"type":"message","role":"system","content":"You speak French."},{"role":"user","content":"hi"},{"role":"assistant","content":"w1 w2 w3 w4 w5"},{"role":"user","content":"again"}]""",
            kit.Providers[0].Received.Last().Body["input"]!.ToJsonString());

        // Listed oldest first on request: every item has an id, the provider's reused one given a new one.
        var page = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items?order=asc");
        var items = page["data"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], items.Select(i => i!["role"]!.GetValue<string>()));
        Assert.All(items, i => Assert.Equal("message", i!["type"]!.GetValue<string>()));
        Assert.Equal("msg_fake", items[2]!["id"]!.GetValue<string>());
        Assert.Matches("^msg_[0-9a-f]{32}$", items[4]!["id"]!.GetValue<string>());
        Assert.Equal(5, items.Select(i => i!["id"]!.GetValue<string>()).Distinct().Count());
        Assert.Equal("""[{"type":"input_text","text":"hi"}]""", items[1]!["content"]!.ToJsonString());
        Assert.Equal("w1 w2 w3 w4 w5", items[2]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.False(page["has_more"]!.GetValue<bool>());

        // Newest first by default, in pages.
        var newest = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items?limit=2");
        Assert.Equal([items[4]!["id"]!.GetValue<string>(), items[3]!["id"]!.GetValue<string>()], newest["data"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        Assert.True(newest["has_more"]!.GetValue<bool>());
        var older = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items?limit=2&after={newest["last_id"]}");
        Assert.Equal([items[2]!["id"]!.GetValue<string>(), items[1]!["id"]!.GetValue<string>()], older["data"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task OpenAIsClients_MakeUseChangeAndDeleteAConversation()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var conversations = kit.OpenAI().GetConversationClient();
        var responses = kit.OpenAI().GetResponsesClient();

        ConversationResource made = await conversations.CreateConversationAsync(new ConversationCreationOptions
        {
            Items = { ResponseItem.CreateSystemMessageItem("Answer in French.") },
            Metadata = { ["user"] = "ana" },
        });
        Assert.StartsWith("conv_", made.Id, StringComparison.Ordinal);
        Assert.Equal("ana", made.Metadata["user"]);
        Assert.True(made.CreatedAt > DateTimeOffset.UnixEpoch);

        ResponseResult answered = await responses.CreateResponseAsync(new CreateResponseOptions
        {
            Model = "fast",
            ConversationOptions = new ResponseConversationOptions(made.Id),
            InputItems = { ResponseItem.CreateUserMessageItem("hi") },
        });
        Assert.Equal(made.Id, answered.ConversationOptions.ConversationId);
        Assert.Equal("w1 w2 w3 w4 w5", answered.GetOutputText());
        Assert.Equal(2, kit.Providers[0].Received.Last().Body["input"]!.AsArray().Count);

        // Every item, through the client's own paging (protocol methods: the typed items are not in this version).
        var listed = new List<JsonNode>();
        await foreach (var page in conversations.GetConversationItemsAsync(made.Id, limit: 1, order: "asc", after: null, include: null, options: null).GetRawPagesAsync())
        {
            listed.AddRange(JsonNode.Parse(page.GetRawResponse().Content.ToString())!["data"]!.AsArray().Select(i => i!.DeepClone()));
        }

        Assert.Equal(["system", "user", "assistant"], listed.Select(i => i["role"]!.GetValue<string>()));

        ConversationResource changed = await conversations.UpdateConversationAsync(made.Id, new ConversationUpdateOptions(new Dictionary<string, string> { ["user"] = "bo" }));
        Assert.Equal("bo", changed.Metadata["user"]);
        Assert.Equal("bo", ((ConversationResource)await conversations.GetConversationAsync(made.Id)).Metadata["user"]);

        ConversationDeletionResult deleted = await conversations.DeleteConversationAsync(made.Id);
        Assert.True(deleted.Deleted);
        Assert.Equal(made.Id, deleted.ConversationId);
        var gone = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => conversations.GetConversationAsync(made.Id));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Conversations_AreReadChangedAndDeleted_AsOpenAIsAPIDoes()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();

        var read = await kit.OkAsync(kit.Key, HttpMethod.Get, "/v1/conversations/" + id);
        Assert.Equal((id, "{}"), (read["id"]!.GetValue<string>(), read["metadata"]!.ToJsonString()));
        Assert.True(read["created_at"]!.GetValue<long>() > 1_700_000_000);

        var changed = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations/" + id, """{"metadata":{"user":"ana"}}""");
        Assert.Equal("""{"user":"ana"}""", changed["metadata"]!.ToJsonString());

        var added = await kit.OkAsync(kit.Key, HttpMethod.Post, $"/v1/conversations/{id}/items",
            """{"items":[{"type":"message","role":"user","content":[{"type":"input_text","text":"one"}]},{"role":"assistant","content":"two"},{"type":"function_call_output","call_id":"call_1","output":"42"}]}""");
        var ids = added["data"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(3, ids.Length);
        Assert.Matches("^msg_", ids[0]);
        Assert.Matches("^fco_", ids[2]);
        Assert.Equal((ids[0], ids[2]), (added["first_id"]!.GetValue<string>(), added["last_id"]!.GetValue<string>()));

        var item = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items/{ids[1]}");
        Assert.Equal("""{"id":"ID","type":"message","role":"assistant","content":[{"type":"output_text","text":"two","annotations":[]}]}""".Replace("ID", ids[1], StringComparison.Ordinal), item.ToJsonString());

        var afterDelete = await kit.OkAsync(kit.Key, HttpMethod.Delete, $"/v1/conversations/{id}/items/{ids[1]}");
        Assert.Equal((id, "conversation"), (afterDelete["id"]!.GetValue<string>(), afterDelete["object"]!.GetValue<string>()));
        using (var gone = await kit.SendAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items/{ids[1]}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
            Assert.Contains("item_not_found", await gone.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The call after is sent what is left, as it was added.
        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"three"}""");
        Assert.Equal(
            """[{"type":"message","role":"user","content":[{"type":"input_text","text":"one"}]},{"type":"function_call_output","call_id":"call_1","output":"42"},{"role":"user","content":"three"}]""",
            kit.Providers[0].Received.Last().Body["input"]!.ToJsonString());

        // A response's id is not a conversation's, nor the other way round.
        var responseId = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"alone"}""");
        foreach (var path in new[] { "/v1/conversations/" + responseId, $"/v1/conversations/{responseId}/items", "/v1/responses/" + id })
        {
            using var mixed = await kit.SendAsync(kit.Key, HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.NotFound, mixed.StatusCode);
        }

        var deleted = await kit.OkAsync(kit.Key, HttpMethod.Delete, "/v1/conversations/" + id);
        Assert.Equal((id, "conversation.deleted", true), (deleted["id"]!.GetValue<string>(), deleted["object"]!.GetValue<string>(), deleted["deleted"]!.GetValue<bool>()));
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, "/v1/conversations/" + id, null),
            (HttpMethod.Get, $"/v1/conversations/{id}/items", null),
            (HttpMethod.Delete, "/v1/conversations/" + id, null),
            (HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"x"}"""),
        })
        {
            using var response = await kit.SendAsync(kit.Key, method, path, body);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("conversation_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(2, kit.Providers[0].Received.Count);
    }

    [Fact]
    public async Task OnlyTheApplicationThatMadeAConversation_CanReadUseChangeOrDeleteIt()
    {
        var other = TestKey.New();
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, secondKey: other);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", """{"items":[{"role":"user","content":"secret"}]}"""))["id"]!.GetValue<string>();
        var itemId = (await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items"))["first_id"]!.GetValue<string>();

        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, "/v1/conversations/" + id, null),
            (HttpMethod.Post, "/v1/conversations/" + id, """{"metadata":{"a":"b"}}"""),
            (HttpMethod.Delete, "/v1/conversations/" + id, null),
            (HttpMethod.Get, $"/v1/conversations/{id}/items", null),
            (HttpMethod.Post, $"/v1/conversations/{id}/items", """{"items":[{"role":"user","content":"x"}]}"""),
            (HttpMethod.Get, $"/v1/conversations/{id}/items/{itemId}", null),
            (HttpMethod.Delete, $"/v1/conversations/{id}/items/{itemId}", null),
            (HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"x"}"""),
        })
        {
            using var response = await kit.SendAsync(other, method, path, body);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("conversation_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(kit.Providers[0].Received); // nothing of it reached a provider for the other application
        var page = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items");
        Assert.Equal("secret", Assert.Single(page["data"]!.AsArray())!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("{}", (await kit.OkAsync(kit.Key, HttpMethod.Get, "/v1/conversations/" + id))["metadata"]!.ToJsonString());
    }

    [Theory]
    [InlineData("/v1/conversations", """{"items":[],"metadta":{}}""", "unknown_parameter", "metadta")]
    [InlineData("/v1/conversations", """{"items":"hi"}""", "invalid_value", "'items'")]
    [InlineData("/v1/conversations", """{"items":[1]}""", "invalid_value", "items[0]")]
    [InlineData("/v1/conversations", """{"items":[{"content":"no role"}]}""", "invalid_value", "items[0]")]
    [InlineData("/v1/conversations", """{"items":[{"role":"user","content":"x","id":7}]}""", "invalid_value", "items[0].id")]
    [InlineData("/v1/conversations", """{"items":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}""", "invalid_value", "'file_id' in 'items[0]'")]
    [InlineData("/v1/conversations", """{"items":[{"type":"item_reference","id":"msg_1"}]}""", "invalid_value", "'item_reference' in 'items[0]'")]
    [InlineData("/v1/conversations", """{"metadata":{"a":1}}""", "invalid_value", "metadata.a")]
    [InlineData("/v1/conversations", """{"metadata":[]}""", "invalid_value", "'metadata'")]
    [InlineData("/v1/conversations", "[1,2]", "invalid_body", "JSON object")]
    [InlineData("/v1/conversations", "{not json", "invalid_body", "JSON object")]
    [InlineData("/v1/responses", """{"model":"fast","input":"x","conversation":42}""", "invalid_value", "'conversation'")]
    [InlineData("/v1/responses", """{"model":"fast","input":"x","conversation":"conv_1","previous_response_id":"resp_1"}""", "invalid_value", "not both")]
    [InlineData("/v1/responses", """{"model":"fast","input":"x","conversation":"conv_1","store":false}""", "invalid_value", "store: false")]
    public async Task BadInput_IsRefusedWithWhatToSend_AndReachesNoProvider(string path, string body, string code, string says)
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);

        using var response = await kit.SendAsync(kit.Key, HttpMethod.Post, path, body);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.Contains(says, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Providers[0].Received);
        Assert.Equal(0, kit.Kept().Conversations);
    }

    [Fact]
    public async Task TwentyItemsAtATime_AndAnUnknownPathOrMethod_AreRefused()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();
        var many = "{\"items\":[" + string.Join(',', Enumerable.Repeat("""{"role":"user","content":"x"}""", 21)) + "]}";

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Post, $"/v1/conversations/{id}/items", many))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Post, $"/v1/conversations/{id}/items", """{"items":[]}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/v1/conversations"), (HttpMethod.Put, "/v1/conversations/" + id), (HttpMethod.Get, $"/v1/conversations/{id}/other"), (HttpMethod.Get, $"/v1/conversations/{id}/items/a/b") })
        {
            using var response = await kit.SendAsync(kit.Key, method, path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("unknown_url", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty((await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items"))["data"]!.AsArray());
    }

    [Fact]
    public async Task AConversationOf10000Items_TakesNoMore_NorAnyCallInIt()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();
        var config = new AiResponsesConfig { Ttl = TimeSpan.FromHours(1) };
        for (var i = 0; i < 500; i++)
        {
            var batch = Enumerable.Range(0, 20).Select(n => new ConversationItem($"msg_{i}_{n}", false, """{"role":"user","content":"x"}"""u8.ToArray())).ToArray();
            Assert.Equal(AiResponses.Appended.Done, (await kit.Kept().AppendAsync("app", id, batch, config)).Outcome);
        }

        foreach (var (path, body) in new[] { ("/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"one more"}"""), ($"/v1/conversations/{id}/items", """{"items":[{"role":"user","content":"one more"}]}""") })
        {
            using var response = await kit.SendAsync(kit.Key, HttpMethod.Post, path, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("conversation_full", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(kit.Providers[0].Received);
        Assert.Equal(10_000, (await kit.Kept().ConversationAsync("app", id, config.Ttl))!.Items.Length);
    }

    [Fact]
    public async Task Streamed_AtATranslatedProvider_EveryResponseEventNamesTheConversation_AndItsOutputIsAdded()
    {
        const string models = "        fast: [ { provider: p0, model: model-0 } ]\n        claude: [ { provider: a0, model: claude-x } ]\n";
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: models, aiExtra: AiKit.KeptAnHour);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();

        foreach (var model in new[] { "claude", "fast" })
        {
            using var response = await kit.Gateway.Client.SendAsync(
                kit.Post($$"""{"model":"{{model}}","stream":true,"conversation":"{{id}}","input":"hi from {{model}}"}""", "/v1/responses"), HttpCompletionOption.ResponseHeadersRead);
            var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
                .Select(e => e.Split('\n').FirstOrDefault(l => l.StartsWith("data: ", StringComparison.Ordinal)))
                .OfType<string>().Select(l => JsonNode.Parse(l[6..])!).Where(e => e["response"] is not null).ToArray();
            Assert.True(events.Length >= 2, $"{model}: {events.Length} events with the response");
            Assert.All(events, e => Assert.Equal(id, e["response"]!["conversation"]!["id"]!.GetValue<string>()));
        }

        // Claude was sent the conversation so far (nothing), the OpenAI model everything before it, translated back.
        Assert.Equal("""[{"role":"user","content":[{"type":"text","text":"hi from claude"}]}]""", Assert.Single(kit.Anthropic[0].Received).Body["messages"]!.ToJsonString());
        Assert.Equal(
            """[{"role":"user","content":"hi from claude"},{"role":"assistant","content":"a1 a2 a3 a4"},{"role":"user","content":"hi from fast"}]""",
            Assert.Single(kit.Providers[0].Received).Body["input"]!.ToJsonString());
        var items = (await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items?order=asc"))["data"]!.AsArray();
        Assert.Equal(["user", "assistant", "user", "assistant"], items.Select(i => i!["role"]!.GetValue<string>()));
        Assert.Equal("w1 w2 w3 w4 w5", items[3]!["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task AStreamCutMidway_AddsNothingToTheConversation()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();
        kit.Providers[0].Fault = FakeFault.ResetMidStream;

        var text = await kit.ReadCutStreamAsync($$"""{"model":"fast","stream":true,"conversation":"{{id}}","input":"hi"}""");
        Assert.Contains(id, text, StringComparison.Ordinal); // the events before the cut named the conversation

        Assert.Empty((await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items"))["data"]!.AsArray());
        Assert.Equal(0, kit.Kept().Count);
    }

    [Fact]
    public async Task WithoutAnApplication_NoConversationIsMade_OrUsed()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, planExtra: "  open:\n    anonymous: true\n    include: [ { route: ai, access: read } ]");
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();

        using var create = await kit.Gateway.Client.PostAsync("/v1/conversations", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        Assert.Contains("application_required", await create.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var use = await kit.Gateway.Client.PostAsync("/v1/responses", new StringContent($$"""{"model":"fast","input":"x","conversation":"{{id}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, use.StatusCode);
        using var read = await kit.Gateway.Client.GetAsync("/v1/conversations/" + id);
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task WhatIsKeptForAnApplication_IsForgotten_WhenItLeavesTheConfigOrTheConsumerDirectory()
    {
        var second = TestKey.New();
        var portal = TestKey.New();
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, secondKey: second);
        kit.Gateway.Host.Runtime.Consumers.Upsert(new Gatehouse.Model.Consumers.ConsumerApplication("app-portal", "acc-1", "gold", ApplicationState.Live,
            [new Gatehouse.Model.Consumers.ConsumerKey(portal.Sha256, portal.Plaintext[..8], DateTimeOffset.UnixEpoch, null)]));
        var conversations = new Dictionary<TestKey, string>();
        foreach (var key in new[] { kit.Key, second, portal })
        {
            conversations[key] = (await kit.OkAsync(key, HttpMethod.Post, "/v1/conversations", """{"items":[{"role":"user","content":"mine"}]}"""))["id"]!.GetValue<string>();
            await kit.CreateResponseAsync(key, """{"model":"fast","input":"hi"}""");
        }

        Assert.Equal((3, 3), (kit.Kept().Conversations, kit.Kept().Count));

        // The portal application is removed from the directory, then app2 from the config: theirs go, app's stays.
        kit.Gateway.Host.Runtime.Consumers.Remove("app-portal");
        await Wait.UntilAsync(() => kit.Kept().Conversations == 2, "the portal application's conversation forgotten");
        Assert.Empty(kit.Gateway.Host.Runtime.Apply(kit.Config with { Applications = kit.Config.Applications.Where(a => a.Key != "app2").ToDictionary() }));
        await Wait.UntilAsync(() => kit.Kept().Conversations == 1, "app2's conversation forgotten");
        Assert.Equal(1, kit.Kept().Count);
        await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{conversations[kit.Key]}/items");

        // Made again under the same id, app2 finds nothing of before.
        Assert.Empty(kit.Gateway.Host.Runtime.Apply(kit.Config));
        using var found = await kit.SendAsync(second, HttpMethod.Get, "/v1/conversations/" + conversations[second]);
        Assert.Equal(HttpStatusCode.NotFound, found.StatusCode);
    }

    [Fact]
    public async Task WithoutResponsesKept_ConversationsAreNotServed_AndSayWhy()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1);

        using var create = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}");
        Assert.Equal(HttpStatusCode.NotFound, create.StatusCode);
        Assert.Contains("'responses' in the ai service's config", await create.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var use = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"x","conversation":"conv_1"}""");
        Assert.Equal(HttpStatusCode.BadRequest, use.StatusCode);
        Assert.Contains("unsupported_parameter", await use.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task AConversationIsKeptAnHourAfterItWasLastUsed_ThenForgotten()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, time: clock);
        var id = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();

        clock.Advance(TimeSpan.FromMinutes(50));
        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","conversation":"{{id}}","input":"hi"}""");
        clock.Advance(TimeSpan.FromMinutes(50)); // made 100 minutes ago, used 50 minutes ago
        Assert.Equal(2, (await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{id}/items"))["data"]!.AsArray().Count);

        clock.Advance(TimeSpan.FromMinutes(61));
        using var response = await kit.SendAsync(kit.Key, HttpMethod.Get, "/v1/conversations/" + id);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal((0, 1), (kit.Kept().Conversations, kit.Kept().Count)); // the response stays until it is next looked at
    }

    [Fact]
    public async Task AConversationInMemory_IsBoundedInBytesAndItems_AndCountedInTheStoresSize()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        using var responses = new AiResponses(clock, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var config = new AiResponsesConfig { Ttl = TimeSpan.FromHours(1), Size = 4_000 };
        var kept = (AiResponses.Kept)responses.For("llm", config);
        ConversationItem Item(string id) => new(id, false, new byte[500]);

        var conversation = new Conversation("conv_1", "app", 1, "{}"u8.ToArray(), [Item("a"), Item("a")]);
        Assert.True(await kept.CreateConversationAsync(conversation, config));
        var view = (await kept.ConversationAsync("app", "conv_1", config.Ttl))!;
        Assert.Equal(2, view.Items.Length);
        Assert.NotEqual(view.Items[0].Id, view.Items[1].Id); // the same id twice: the second is given a new one
        var before = kept.Bytes;

        var (outcome, added) = await kept.AppendAsync("app", "conv_1", [Item("b"), Item("c")], config);
        Assert.Equal((AiResponses.Appended.Done, 2), (outcome, added.Length));
        Assert.Equal(before + (2 * Item("b").Bytes), kept.Bytes);
        Assert.Equal(AiResponses.Appended.Full, (await kept.AppendAsync("app", "conv_1", [Item("d"), Item("e"), Item("f"), Item("g")], config)).Outcome);
        Assert.Equal(AiResponses.Appended.NotFound, (await kept.AppendAsync("other", "conv_1", [Item("d")], config)).Outcome);

        var (after, found) = await kept.DeleteItemAsync("app", "conv_1", "b", config.Ttl);
        Assert.True(found);
        Assert.Equal(3, after!.Items.Length);
        Assert.Equal(before + Item("c").Bytes, kept.Bytes);

        // Responses kept after it push out the least recently used, the conversation too.
        kept.Add(new AiResponses.Entry("r1", "app", [], new byte[1_500], [], []), config);
        kept.Add(new AiResponses.Entry("r2", "app", [], new byte[1_500], [], []), config);
        Assert.Null(await kept.ConversationAsync("app", "conv_1", config.Ttl));
        Assert.Equal((0, 2), (kept.Conversations, kept.Count));
        Assert.True(kept.Bytes <= config.Size);
    }
}
