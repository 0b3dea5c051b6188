using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Responses kept by the gateway (<c>ai.responses</c>): <c>previous_response_id</c>, <c>store</c> and
/// <c>GET</c>/<c>DELETE …/responses/{id}</c> served at the gateway, per application, with providers still called
/// statelessly; OpenAI's own .NET client is the oracle.
/// </summary>
[Trait("Issue", "22")]
public sealed class ResponsesKeptTests
{
    [Fact]
    public async Task Continue_OpenAIClient_TheProviderGetsTheWholeConversation_AndStillStoresNothing()
    {
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour);
        var client = kit.OpenAI().GetResponsesClient();

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions { Model = "fast", InputItems = { ResponseItem.CreateUserMessageItem("hi") } });
        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions
        {
            Model = "fast",
            PreviousResponseId = first.Id,
            Instructions = "be brief",
            InputItems = { ResponseItem.CreateUserMessageItem("again") },
        });

        // The gateway's ids, not the provider's (which names nothing kept: the provider was told not to store).
        Assert.Matches("^resp_[0-9a-f]{32}$", first.Id);
        Assert.Matches("^resp_[0-9a-f]{32}$", second.Id);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal("w1 w2 w3 w4 w5", second.GetOutputText());
        var sent = kit.Providers[0].Received.Last().Body;
        Assert.Null(sent["previous_response_id"]);
        Assert.False(sent["store"]!.GetValue<bool>());
        Assert.Equal("be brief", sent["instructions"]!.GetValue<string>());
        var input = sent["input"]!.AsArray();
        Assert.Equal(3, input.Count);
        Assert.Contains("\"hi\"", input[0]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("""{"role":"assistant","content":"w1 w2 w3 w4 w5"}""", input[1]!.ToJsonString());
        Assert.Contains("\"again\"", input[2]!.ToJsonString(), StringComparison.Ordinal);

        // A third turn carries both before it.
        ResponseResult third = await client.CreateResponseAsync(new CreateResponseOptions { Model = "fast", PreviousResponseId = second.Id, InputItems = { ResponseItem.CreateUserMessageItem("more") } });
        Assert.Equal(5, kit.Providers[0].Received.Last().Body["input"]!.AsArray().Count);
        Assert.NotEqual(second.Id, third.Id);
        Assert.Equal([second.Id], kit.Kept().Get("app", third.Id)!.Chain); // in memory, each names only the one before it
    }

    [Fact]
    public async Task Streamed_EveryEventCarriesTheGatewaysId_AndATranslatedProviderContinuesTheConversation()
    {
        const string models = "        fast: [ { provider: p0, model: model-0 } ]\n        claude: [ { provider: a0, model: claude-x } ]\n";
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: models, aiExtra: AiKit.KeptAnHour);
        var client = kit.OpenAI().GetResponsesClient();

        var ids = new HashSet<string>();
        ResponseResult? completed = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions { Model = "fast", StreamingEnabled = true, InputItems = { ResponseItem.CreateUserMessageItem("hi") } }))
        {
            switch (update)
            {
                case StreamingResponseCreatedUpdate created:
                    ids.Add(created.Response.Id);
                    break;
                case StreamingResponseCompletedUpdate done:
                    completed = done.Response;
                    ids.Add(done.Response.Id);
                    break;
            }
        }

        Assert.NotNull(completed);
        Assert.Matches("^resp_[0-9a-f]{32}$", Assert.Single(ids));
        Assert.Equal("w1 w2 w3 w4 w5", completed.GetOutputText());

        // The conversation goes on at Anthropic, translated, and streamed back.
        var text = new StringBuilder();
        string? secondId = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions { Model = "claude", StreamingEnabled = true, PreviousResponseId = completed.Id, InputItems = { ResponseItem.CreateUserMessageItem("again") } }))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                secondId = done.Response.Id;
            }
        }

        Assert.Equal("a1 a2 a3 a4", text.ToString());
        Assert.Equal(
            """[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":[{"type":"text","text":"w1 w2 w3 w4 w5"}]},{"role":"user","content":[{"type":"text","text":"again"}]}]""",
            Assert.Single(kit.Anthropic[0].Received).Body["messages"]!.ToJsonString());

        // And back again, whole: the stream's answer was kept too.
        ResponseResult third = await client.CreateResponseAsync(new CreateResponseOptions { Model = "fast", PreviousResponseId = secondId, InputItems = { ResponseItem.CreateUserMessageItem("and?") } });
        Assert.Equal("w1 w2 w3 w4 w5", third.GetOutputText());
        Assert.Equal("""{"role":"assistant","content":"a1 a2 a3 a4"}""", kit.Providers[0].Received.Last().Body["input"]![3]!.ToJsonString());
    }

    [Fact]
    public async Task OnlyTheApplicationThatMadeAResponse_CanReadContinueOrDeleteIt()
    {
        var other = TestKey.New();
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour, secondKey: other);
        var id = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");

        // Another application: the same answers as for an id that never was.
        using (var response = await kit.SendAsync(other, HttpMethod.Get, "/v1/responses/" + id))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("response_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await kit.SendAsync(other, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"x","previous_response_id":"{{id}}"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("previous_response_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var response = await kit.SendAsync(other, HttpMethod.Delete, "/v1/responses/" + id))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Single(kit.Providers[0].Received); // nothing of the other application's reached a provider

        // Its own application reads it as it got it, then deletes it.
        ResponseResult got = await kit.OpenAI().GetResponsesClient().GetResponseAsync(id);
        Assert.Equal((id, "w1 w2 w3 w4 w5"), (got.Id, got.GetOutputText()));
        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Delete, "/v1/responses/" + id))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var deleted = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal((id, "response.deleted", true), (deleted["id"]!.GetValue<string>(), deleted["object"]!.GetValue<string>(), deleted["deleted"]!.GetValue<bool>()));
        }

        using (var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"x","previous_response_id":"{{id}}"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task InputItems_ListTheConversationTheProviderWasGiven_NewestFirst_InPages()
    {
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour);
        var first = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");
        var second = await kit.CreateResponseAsync(kit.Key, $$"""{"model":"fast","previous_response_id":"{{first}}","input":[{"role":"user","content":"again"},{"role":"user","content":"and more"}]}""");

        // OpenAI's client reads every page (newest first, as OpenAI lists them).
        var items = new List<ResponseItem>();
        await foreach (var item in kit.OpenAI().GetResponsesClient().GetResponseInputItemsAsync(second))
        {
            items.Add(item);
        }

        Assert.Equal(["and more", "again", "w1 w2 w3 w4 w5", "hi"], items.Select(i => Assert.IsAssignableFrom<MessageResponseItem>(i).Content.Single().Text));

        using var response = await kit.SendAsync(kit.Key, HttpMethod.Get, $"/v1/responses/{second}/input_items?order=asc&limit=2");
        var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(
            """[{"id":"item_0","type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},{"id":"item_1","type":"message","role":"assistant","content":[{"type":"output_text","text":"w1 w2 w3 w4 w5","annotations":[]}]}]""",
            page["data"]!.ToJsonString());
        Assert.True(page["has_more"]!.GetValue<bool>());
        using var next = await kit.SendAsync(kit.Key, HttpMethod.Get, $"/v1/responses/{second}/input_items?order=asc&limit=2&after=item_1");
        var rest = JsonNode.Parse(await next.Content.ReadAsStringAsync())!;
        Assert.Equal(["item_2", "item_3"], rest["data"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        Assert.False(rest["has_more"]!.GetValue<bool>());

        using var bad = await kit.SendAsync(kit.Key, HttpMethod.Get, $"/v1/responses/{second}/input_items?limit=500");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task WithoutAnApplication_NothingIsKept_AndNothingCanBeContinued()
    {
        // A plan for callers without a key, beside the kit's own.
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour, planExtra: "  open:\n    anonymous: true\n    include: [ { route: ai, access: read } ]");
        var mine = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");

        using var anonymous = await kit.Gateway.Client.PostAsync("/v1/responses", new StringContent("""{"model":"fast","input":"hi"}""", Encoding.UTF8, "application/json"));
        var answer = JsonNode.Parse(await anonymous.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.Equal("resp_fake", answer["id"]!.GetValue<string>()); // the provider's answer as it was: not kept
        Assert.Equal(1, kit.Kept().Count);

        using var continued = await kit.Gateway.Client.PostAsync("/v1/responses", new StringContent($$"""{"model":"fast","input":"x","previous_response_id":"{{mine}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, continued.StatusCode);
        Assert.Contains("previous_response_not_found", await continued.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var read = await kit.Gateway.Client.GetAsync("/v1/responses/" + mine);
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(2, kit.Providers[0].Received.Count);
    }

    [Fact]
    public async Task StoreFalse_IsNotKept_AndKeepsTheProvidersAnswerAsItIs()
    {
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour);

        using var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", """{"model":"fast","input":"hi","store":false}""");
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal("resp_fake", answer["id"]!.GetValue<string>());
        Assert.Equal(0, kit.Kept().Count);
    }

    [Fact]
    public async Task AStreamCutMidway_IsNotKept()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        kit.Providers[0].Fault = FakeFault.ResetMidStream;

        var text = await kit.ReadCutStreamAsync("""{"model":"fast","stream":true,"input":"hi"}""");
        var id = System.Text.RegularExpressions.Regex.Match(text, "resp_[0-9a-f]{32}").Value;
        Assert.NotEmpty(id); // the events before the cut carried the gateway's id

        // A whole call after it is kept; the cut one never is.
        kit.Providers[0].Fault = FakeFault.None;
        var whole = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");
        await Wait.UntilAsync(() => kit.Kept().Count == 1, "the whole call kept");
        await Task.Delay(200);
        Assert.Equal(1, kit.Kept().Count);
        Assert.NotNull(kit.Kept().Get("app", whole));
        using var got = await kit.SendAsync(kit.Key, HttpMethod.Get, "/v1/responses/" + id);
        Assert.Equal(HttpStatusCode.NotFound, got.StatusCode);
    }

    [Fact]
    public async Task AConversationIsKeptAnHourAfterItWasLastContinued_ThenRefused()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour, time: clock);
        var first = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");

        clock.Advance(TimeSpan.FromMinutes(50));
        var second = await kit.CreateResponseAsync(kit.Key, $$"""{"model":"fast","input":"again","previous_response_id":"{{first}}"}""");
        clock.Advance(TimeSpan.FromMinutes(50)); // the first was made 100 minutes ago, and continued 50 minutes ago
        await kit.CreateResponseAsync(kit.Key, $$"""{"model":"fast","input":"more","previous_response_id":"{{second}}"}""");
        Assert.Equal(5, kit.Providers[0].Received.Last().Body["input"]!.AsArray().Count);

        clock.Advance(TimeSpan.FromMinutes(61));
        using var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"late","previous_response_id":"{{second}}"}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("previous_response_not_found", body, StringComparison.Ordinal);
        Assert.Contains("1h after", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHistoryCountsAgainstTokenLimits()
    {
        await using var kit = await AiKit.StartAsync(aiExtra: AiKit.KeptAnHour, planExtra: AiKit.DayTokenLimit);
        var first = await kit.CreateResponseAsync(kit.Key, """{"model":"fast","input":"hi"}""");
        var limiter = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<TokenLimiter>(kit.Gateway.Host.Services);
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the first call settled");
        var used = limiter.Read("gold", "app", 0).Item1;
        Assert.True(used > 0);

        // A continuation whose history alone is over what is left is refused before any provider is called.
        var before = kit.Providers[0].Received.Count;
        var estimate = TokenLimiter.EstimatePrompt(JsonNode.Parse($$"""{"input":[{"role":"user","content":"hi"},{"role":"assistant","content":"w1 w2 w3 w4 w5"},{"role":"user","content":"x"}]}""")!.AsObject(), AiOperation.Responses);
        Assert.True(estimate > TokenLimiter.EstimatePrompt(JsonNode.Parse("""{"input":"x"}""")!.AsObject(), AiOperation.Responses));
        using var response = await kit.SendAsync(kit.Key, HttpMethod.Post, "/v1/responses", $$"""{"model":"fast","input":"x","previous_response_id":"{{first}}","max_output_tokens":{{100000 - used - estimate + 1}}}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(before, kit.Providers[0].Received.Count);
    }

    [Fact]
    public void KeptResponses_AreBoundedInBytes_TheLeastRecentlyContinuedGoFirst()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        using var responses = new AiResponses(clock, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var config = new AiResponsesConfig { Ttl = TimeSpan.FromHours(1), Size = 5_000 }; // four entries of about 1,070 bytes
        var kept = (AiResponses.Kept)responses.For("llm", config);
        AiResponses.Entry Entry(string id, string? previous) => new(id, "app", previous is null ? [] : [previous], new byte[500], new byte[300], new byte[100]);

        kept.Add(Entry("r1", null), config);
        kept.Add(Entry("r2", "r1"), config);
        kept.Add(Entry("r3", null), config);
        Assert.NotNull(kept.Chain("app", "r2", config.Ttl)); // r1 and r2 are now the most recent; r3 the least
        kept.Add(Entry("r4", null), config);
        kept.Add(Entry("r5", null), config);

        Assert.True(kept.Bytes <= config.Size, $"{kept.Bytes} bytes kept");
        Assert.Null(kept.Get("app", "r3"));
        Assert.Equal(["r1", "r2"], kept.Chain("app", "r2", config.Ttl)!.Select(e => e.Id));
        Assert.Null(kept.Get("other", "r1"));

        // A chain whose earlier response is gone cannot be continued.
        Assert.True(kept.Delete("app", "r1"));
        Assert.Null(kept.Chain("app", "r2", config.Ttl));

        // Larger than everything that may be kept: not kept.
        kept.Add(new AiResponses.Entry("big", "app", [], new byte[5_000], [], []), config);
        Assert.Null(kept.Get("app", "big"));
    }

    [Fact]
    public void WhatIsKeptOfAnOutput_IsWhatALaterCallSendsBack_AndAFailedResponseIsNotKept()
    {
        const string Output = """
            [
              {"type":"reasoning","id":"rs_1","summary":[],"status":"completed"},
              {"type":"reasoning","id":"rs_2","summary":[{"type":"summary_text","text":"s"}],"encrypted_content":"gAAA"},
              {"type":"web_search_call","id":"ws_1","status":"completed"},
              {"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello ","annotations":[{"type":"url_citation"}]},{"type":"output_text","text":"there"}]},
              {"type":"function_call","id":"fc_1","status":"completed","call_id":"call_1","name":"weather","arguments":"{\"city\":\"Paris\"}"}
            ]
            """;

        var kept = AiResponses.OutputToKeep(Encoding.UTF8.GetBytes($$"""{"id":"resp_x","status":"completed","output":{{Output}}}"""));

        Assert.Equal(
            """[{"type":"reasoning","id":"rs_2","summary":[{"type":"summary_text","text":"s"}],"encrypted_content":"gAAA"},{"role":"assistant","content":"Hello there"},{"type":"function_call","call_id":"call_1","name":"weather","arguments":"{\"city\":\"Paris\"}"}]""",
            Encoding.UTF8.GetString(kept!));
        Assert.NotNull(AiResponses.OutputToKeep("""{"status":"incomplete","output":[]}"""u8));
        Assert.Null(AiResponses.OutputToKeep("""{"status":"failed","output":[]}"""u8));
        Assert.Null(AiResponses.OutputToKeep("""not json"""u8));
    }

    [Fact]
    public async Task TheGauges_CountWhatANodeKeepsInMemory_ByService()
    {
        var config = new AiResponsesConfig();
        long? Gauge(string name, string service)
        {
            long? value = null;
            using var listener = new System.Diagnostics.Metrics.MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, measured, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    value = tag.Key == "service" && (string?)tag.Value == service ? measured : value;
                }
            });
            listener.Start();
            listener.RecordObservableInstruments();
            return value;
        }

        var responses = new AiResponses(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var kept = (AiResponses.Kept)responses.For("gauge-svc-1", config);
        kept.Add(new AiResponses.Entry("r1", "app", [], new byte[10], new byte[20], new byte[30]), config);
        kept.Add(new AiResponses.Entry("r2", "app", ["r1"], new byte[10], new byte[20], new byte[30]), config);

        Assert.True(await kept.CreateConversationAsync(new Conversation("conv_1", "app", 1, "{}"u8.ToArray(), [new ConversationItem("m1", false, new byte[40])]), config));

        Assert.Equal(2, Gauge("gatehouse.ai.responses.kept", "gauge-svc-1"));
        Assert.Equal(1, Gauge("gatehouse.ai.conversations.kept", "gauge-svc-1"));
        Assert.Equal(kept.Bytes, Gauge("gatehouse.ai.responses.kept.size", "gauge-svc-1"));
        Assert.True(kept.Bytes > 120);

        responses.Dispose(); // its host stopped: it leaves the gauges
        Assert.Null(Gauge("gatehouse.ai.responses.kept", "gauge-svc-1"));
    }
}
