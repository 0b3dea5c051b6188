using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Mcp;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// <c>item_reference</c> input items served by a gateway that keeps responses (<c>ai.responses</c>): each names an output
/// item of a response the application made, and the provider is sent that item instead. Clients that keep the history
/// themselves send earlier answers this way while they believe the server stores them: the Vercel AI SDK by default,
/// which is the oracle here beside OpenAI's .NET client.
/// </summary>
[Trait("Issue", "22")]
public sealed class ItemReferenceTests
{
    [Fact]
    public async Task TheVercelAiSdk_MultiTurnWithItsDefaults_SendsReferences_AndTheProviderGetsTheAnswersThemselves()
    {
        NodeTools.Require("ai");
        NodeTools.Require("@ai-sdk/openai");
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        kit.Providers[0].UniqueItemIds = true;

        foreach (var stream in (bool[])[false, true])
        {
            var report = await RunSdkAsync(kit, turns: 3, stream);
            var turns = report["turns"]!.AsArray();
            Assert.True(report["error"] is null && turns.Count == 3, report.ToJsonString());

            // The SDK referred to each earlier answer (what makes this test one of references, not of inline history)...
            Assert.True(turns[2]!["sent"]?["input"] is JsonArray, report.ToJsonString());
            var sent = turns[2]!["sent"]!["input"]!.AsArray();
            var references = sent.Where(item => item?["type"]?.GetValue<string>() == "item_reference").Select(item => item!["id"]!.GetValue<string>()).ToArray();
            Assert.Equal(2, references.Length);
            Assert.All(references, id => Assert.StartsWith("msg_fake_", id, StringComparison.Ordinal));

            // ...and the provider was sent each answer's own text in its place, in order, with nothing stored there.
            var received = kit.Providers[0].Received.Last().Body;
            Assert.False(received["store"]!.GetValue<bool>());
            var input = received["input"]!.AsArray();
            Assert.Equal(5, input.Count);
            Assert.Equal(turns[0]!["text"]!.GetValue<string>(), input[1]!["content"]!.GetValue<string>());
            Assert.Equal(turns[1]!["text"]!.GetValue<string>(), input[3]!["content"]!.GetValue<string>());
            Assert.Equal("assistant", input[3]!["role"]!.GetValue<string>());
            Assert.NotEqual(input[1]!.ToJsonString(), input[3]!.ToJsonString());
            Assert.DoesNotContain("item_reference", received.ToJsonString(), StringComparison.Ordinal);
            Assert.Matches("^resp_[0-9a-f]{32}$", turns[2]!["responseId"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task TheVercelAiSdk_AtAStatelessGateway_IsToldWhatToSet_AndWorksWithStoreOff()
    {
        NodeTools.Require("ai");
        await using var kit = await AiKit.StartAsync(providerCount: 1);

        var refused = await RunSdkAsync(kit, turns: 2, stream: false);
        Assert.True(refused["turns"] is JsonArray { Count: 1 } && refused["status"] is not null, refused.ToJsonString());
        Assert.Equal(400, refused["status"]!.GetValue<int>());
        Assert.Contains("have the gateway keep responses", refused["body"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("with store: false", refused["body"]!.GetValue<string>(), StringComparison.Ordinal);

        var report = await RunSdkAsync(kit, turns: 3, stream: false, "--store", "false");
        Assert.True(report["error"] is null && report["turns"]!.AsArray().Count == 3, report.ToJsonString());
        var answer = kit.Providers[0].Received.Last().Body["input"]![3]!;
        Assert.Equal("assistant", answer["role"]!.GetValue<string>());
        Assert.Contains("w1 w2 w3 w4 w5", answer.ToJsonString(), StringComparison.Ordinal); // the text itself, as the SDK sent it
    }

    [Fact]
    public async Task OpenAIClient_AReferenceToAnotherResponsesItem_IsThatItem_AndKeepsItsResponseAgain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, time: clock);
        kit.Providers[0].UniqueItemIds = true;
        var client = kit.OpenAI().GetResponsesClient();

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions { Model = "fast", InputItems = { ResponseItem.CreateUserMessageItem("hi") } });
        var itemId = first.OutputItems.Single().Id;
        Assert.Equal("msg_fake_1", itemId);

        // 50 minutes on, the reference keeps the first response another hour; 50 more, it is still found.
        for (var turn = 0; turn < 2; turn++)
        {
            clock.Advance(TimeSpan.FromMinutes(50));
            ResponseResult next = await client.CreateResponseAsync(new CreateResponseOptions
            {
                Model = "fast",
                InputItems = { ResponseItem.CreateUserMessageItem("hi"), ResponseItem.CreateReferenceItem(itemId), ResponseItem.CreateUserMessageItem("again") },
            });
            var input = kit.Providers[0].Received.Last().Body["input"]!.AsArray();
            Assert.Equal(3, input.Count);
            Assert.Equal("""{"role":"assistant","content":"r1 w2 w3 w4 w5"}""", input[1]!.ToJsonString());

            // What is kept of the call is what the provider was given: its input items list the answer, not the reference.
            var listed = await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/responses/{next.Id}/input_items?order=asc");
            Assert.Equal("r1 w2 w3 w4 w5", listed["data"]![1]!["content"]![0]!["text"]!.GetValue<string>());
        }

        // Not used for longer than the ttl: gone.
        clock.Advance(TimeSpan.FromMinutes(61));
        await AssertRefusedAsync(kit, kit.Key, itemId, HttpStatusCode.BadRequest, "item_not_found");
    }

    [Fact]
    public async Task AReferenceToAnotherApplicationsItem_OrToNothing_IsRefused_BeforeAnyProviderIsCalled()
    {
        var other = TestKey.New();
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, secondKey: other);
        kit.Providers[0].UniqueItemIds = true;
        var mine = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"hi"}""");
        var itemId = mine["output"]![0]!["id"]!.GetValue<string>();
        var calls = kit.Providers[0].Received.Count;

        var body = await AssertRefusedAsync(kit, other, itemId, HttpStatusCode.BadRequest, "item_not_found");
        Assert.Contains($"'{itemId}'", body, StringComparison.Ordinal);
        await AssertRefusedAsync(kit, kit.Key, "msg_never", HttpStatusCode.BadRequest, "item_not_found");
        await AssertRefusedAsync(kit, kit.Key, new string('x', 129), HttpStatusCode.BadRequest, "item_not_found");
        Assert.Equal(calls, kit.Providers[0].Received.Count);

        // A deleted response's items go with it.
        using (var deleted = await kit.SendAsync(kit.Key, HttpMethod.Delete, "/v1/responses/" + mine["id"]!.GetValue<string>()))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        await AssertRefusedAsync(kit, kit.Key, itemId, HttpStatusCode.BadRequest, "item_not_found");

        // Anything else that names provider-side state is still refused beside a reference.
        using var mixed = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses",
            """{"model":"fast","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        Assert.Contains("file_id", await mixed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProviderThatGivesEveryAnswerTheSameItemId_HasItsReferencesRefusedAsAmbiguous_NotResolvedToTheWrongAnswer()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour); // every answer is msg_fake
        await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"one"}""");

        // One response holds it: that one is meant.
        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":[{"role":"user","content":"one"},{"type":"item_reference","id":"msg_fake"},{"role":"user","content":"two"}]}""");
        Assert.Equal("assistant", kit.Providers[0].Received.Last().Body["input"]![1]!["role"]!.GetValue<string>());

        // Now two do.
        var body = await AssertRefusedAsync(kit, kit.Key, "msg_fake", HttpStatusCode.BadRequest, "item_reference_ambiguous");
        Assert.Contains("send the item itself", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutKeptResponses_OrWithoutAnApplication_AReferenceIsRefused_SayingWhatToDo()
    {
        await using (var stateless = await AiKit.StartAsync(providerCount: 1))
        {
            var body = await AssertRefusedAsync(stateless, stateless.Key, "msg_1", HttpStatusCode.BadRequest, "unsupported_parameter");
            Assert.Contains("have the gateway keep responses", body, StringComparison.Ordinal);
        }

        // A plan for callers without a key, beside the kit's own: an item of the kit's application is not theirs to name.
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour, planExtra: "  open:\n    anonymous: true\n    include: [ { route: ai, access: read } ]");
        kit.Providers[0].UniqueItemIds = true;
        var mine = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"hi"}""");
        var itemId = mine["output"]![0]!["id"]!.GetValue<string>();
        using var anonymous = await kit.Gateway.Client.PostAsync("/v1/responses",
            new StringContent($$"""{"model":"fast","input":[{"type":"item_reference","id":"{{itemId}}"}]}""", Encoding.UTF8, "application/json"));
        var refused = await anonymous.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, anonymous.StatusCode);
        Assert.Contains("item_not_found", refused, StringComparison.Ordinal);
        Assert.Contains("without an application's credentials", refused, StringComparison.Ordinal);
        Assert.Single(kit.Providers[0].Received);
    }

    [Fact]
    public async Task AStreamedAnswerFromATranslatedProvider_CanBeReferredTo_ByTheIdItsEventsGave()
    {
        const string models = "        claude: [ { provider: a0, model: claude-x } ]\n        fast: [ { provider: p0, model: model-0 } ]\n";
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: models, aiExtra: AiKit.KeptAnHour);
        var client = kit.OpenAI().GetResponsesClient();

        string? itemId = null;
        var text = new StringBuilder();
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions { Model = "claude", StreamingEnabled = true, InputItems = { ResponseItem.CreateUserMessageItem("hi") } }))
        {
            if (update is StreamingResponseOutputItemDoneUpdate done)
            {
                itemId = done.Item.Id;
            }
            else if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
        }

        Assert.NotNull(itemId);
        Assert.NotEmpty(text.ToString());
        await client.CreateResponseAsync(new CreateResponseOptions
        {
            Model = "fast",
            InputItems = { ResponseItem.CreateUserMessageItem("hi"), ResponseItem.CreateReferenceItem(itemId), ResponseItem.CreateUserMessageItem("and?") },
        });
        Assert.Equal(new JsonObject { ["role"] = "assistant", ["content"] = text.ToString() }.ToJsonString(), kit.Providers[0].Received.Last().Body["input"]![1]!.ToJsonString());
    }

    [Fact]
    public async Task TheMemoryStore_IndexesOutputItemIds_ForgetsThemWithTheirResponse_AndMarksRepeatedOnesAmbiguous()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        using var responses = new AiResponses(clock, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var config = new AiResponsesConfig { Ttl = TimeSpan.FromHours(1), Size = 6_000 };
        var kept = (AiResponses.Kept)responses.For("llm", config);
        AiResponses.Entry Entry(string id, params string[] itemIds) => new(id, "app", [], "[]"u8, "[]"u8, Encoding.UTF8.GetBytes(
            $$"""{"id":"{{id}}","status":"completed","output":[{{string.Join(',', itemIds.Select(i => $$"""{"type":"message","id":"{{i}}","role":"assistant","content":[{"type":"output_text","text":"{{id}}"}]}"""))}}]}"""));
        async Task<AiResponses.ItemFound> Find(string itemId, string application = "app") => (await kept.ItemsAsync(application, [itemId], config.Ttl))[itemId].Found;

        kept.Add(Entry("r1", "m1", "m2"), config);
        kept.Add(Entry("r2", "m3"), config);
        Assert.Equal(["m1", "m2"], kept.Get("app", "r1")!.ItemIds);
        var found = await kept.ItemsAsync("app", ["m2", "m3", "m9"], config.Ttl);
        Assert.Equal(("r1", "r2"), (found["m2"].Entry!.Id, found["m3"].Entry!.Id));
        Assert.Equal(AiResponses.ItemFound.Missing, found["m9"].Found);
        Assert.Equal("""{"role":"assistant","content":"r1"}""", AiResponses.ReferencedItem(found["m2"].Entry!, "m2")!.ToJsonString());
        Assert.Equal(AiResponses.ItemFound.Missing, await Find("m1", "other"));

        // The same id in a second response: ambiguous while both are kept, and still after one goes; gone with the last.
        kept.Add(Entry("r3", "m3"), config);
        Assert.Equal(AiResponses.ItemFound.Ambiguous, await Find("m3"));
        Assert.True(kept.Delete("app", "r2"));
        Assert.Equal(AiResponses.ItemFound.Ambiguous, await Find("m3"));
        Assert.True(kept.Delete("app", "r3"));
        Assert.Equal(AiResponses.ItemFound.Missing, await Find("m3"));

        // Expired, and pushed out by the size bound.
        clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(AiResponses.ItemFound.Missing, await Find("m1"));
        for (var i = 0; i < 20; i++)
        {
            kept.Add(Entry($"s{i}", $"n{i}"), config);
        }

        Assert.Equal(AiResponses.ItemFound.Missing, await Find("n0"));
        Assert.Equal(AiResponses.ItemFound.Found, await Find("n19"));
        Assert.True(kept.Bytes <= config.Size);
    }

    [Fact]
    public void AReferencedItemIsSentBackAsAContinuationSendsIt_AndLeftOutWhenItHasNoSuchForm()
    {
        var entry = new AiResponses.Entry("r1", "app", [], "[]"u8, "[]"u8, """
            {"id":"r1","status":"completed","output":[
              {"type":"reasoning","id":"rs_1","summary":[]},
              {"type":"reasoning","id":"rs_2","summary":[],"encrypted_content":"gAAA"},
              {"type":"function_call","id":"fc_1","call_id":"call_1","name":"weather","arguments":"{}"}]}
            """u8);
        Assert.Equal(["rs_1", "rs_2", "fc_1"], entry.ItemIds);
        Assert.Null(AiResponses.ReferencedItem(entry, "rs_1"));
        Assert.Equal("""{"type":"reasoning","id":"rs_2","summary":[],"encrypted_content":"gAAA"}""", AiResponses.ReferencedItem(entry, "rs_2")!.ToJsonString());
        Assert.Equal("""{"type":"function_call","call_id":"call_1","name":"weather","arguments":"{}"}""", AiResponses.ReferencedItem(entry, "fc_1")!.ToJsonString());
    }

    [Fact]
    public async Task InAConversationCall_AReferenceInTheCallsOwnInput_IsAddedToTheConversationAsTheItemItNames()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        kit.Providers[0].UniqueItemIds = true;
        var earlier = await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"hi"}""");
        var conversation = (await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/conversations", "{}"))["id"]!.GetValue<string>();

        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses",
            $$"""{"model":"fast","conversation":"{{conversation}}","input":[{"type":"item_reference","id":"{{earlier["output"]![0]!["id"]}}"},{"role":"user","content":"go on"}]}""");
        var items = (await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{conversation}/items?order=asc"))["data"]!.AsArray();
        Assert.Equal(["assistant", "user", "assistant"], items.Select(i => i!["role"]!.GetValue<string>()));
        Assert.Equal("r1 w2 w3 w4 w5", items[0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.DoesNotContain("item_reference", items.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReferenceToAReasoningItemWithoutItsEncryptedContent_IsLeftOut_AsInAContinuation()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        kit.Kept().Add(new AiResponses.Entry("resp_r", "app", [], "[]"u8, "[]"u8, """
            {"id":"resp_r","status":"completed","output":[{"type":"reasoning","id":"rs_1","summary":[]},
              {"type":"message","id":"msg_r","role":"assistant","content":[{"type":"output_text","text":"said"}]}]}
            """u8), new AiResponsesConfig { Ttl = TimeSpan.FromHours(1) });

        await kit.OkAsync(kit.Key, HttpMethod.Post, "/v1/responses",
            """{"model":"fast","input":[{"role":"user","content":"q"},{"type":"item_reference","id":"rs_1"},{"type":"item_reference","id":"msg_r"},{"role":"user","content":"q2"}]}""");
        Assert.Equal(
            """[{"role":"user","content":"q"},{"role":"assistant","content":"said"},{"role":"user","content":"q2"}]""",
            kit.Providers[0].Received.Last().Body["input"]!.ToJsonString());
    }

    internal static async Task<JsonObject> RunSdkAsync(AiKit kit, int turns, bool stream, params string[] more)
    {
        List<string> arguments = ["ai-sdk-oracle.mjs", "--base", kit.Gateway.Url + "/v1", "--key", kit.Key.Plaintext, "--model", "fast", "--turns", turns.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more];
        if (stream)
        {
            arguments.Add("--stream");
        }

        var (code, stdout, stderr) = await NodeTools.RunAsync(NodeTools.Node(), arguments, TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"ai-sdk-oracle.mjs exited with {code}:\n{stdout}\n{stderr}");
        return JsonNode.Parse(stdout)!.AsObject();
    }

    private static async Task<string> AssertRefusedAsync(AiKit kit, TestKey key, string itemId, HttpStatusCode status, string code)
    {
        using var response = await kit.SendAsync(key, HttpMethod.Post, "/v1/responses",
            $$"""{"model":"fast","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"{{itemId}}"}]}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, body);
        Assert.Equal(code, JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>());
        return body;
    }
}
