using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Admits model calls against their plan's <c>tokenLimits</c>: the call's estimate (prompt counted here plus its
/// <c>max_tokens</c>) is reserved in every budget it counts against, or the call is refused with 429; the reservation
/// is settled with the real usage when the call ends. Budgets live in memory on the node, outside snapshots, so a
/// reload does not refill them. A limit with <c>scope: cluster</c> (the default when nodes share a counter engine) also
/// counts what the other nodes used, as the cluster limiter's last round learnt it (<see cref="TokenBudget"/>).
/// </summary>
internal sealed class TokenLimiter
{
    private readonly GatewayRuntime _runtime;
    private readonly TimeProvider _time;
    private int _registered;

    public TokenLimiter(GatewayRuntime runtime, TimeProvider time)
    {
        (_runtime, _time) = (runtime, time);
        runtime.OnSweep(now => Sweep(now));
    }

    /// <summary>Completion tokens reserved for a call that sets neither <c>max_tokens</c> nor <c>max_completion_tokens</c>.</summary>
    public const int DefaultMaxTokens = 1024;

    /// <summary>The most choices (<c>n</c>) a chat completion may ask for, as OpenAI allows; the handler refuses more.</summary>
    public const int MaxChoices = 128;

    private readonly ConcurrentDictionary<string, TokenBudget> _budgets = new(StringComparer.Ordinal);

    // Tokens used in the current windows as a restarted node found them kept (QuotaPersistence), by the budget's name
    // (EngineKey), until the budget is first used.
    private readonly ConcurrentDictionary<string, (uint Window, long Used)> _seeds = new(StringComparer.Ordinal);

    /// <summary>The prefix of a token limit's name among the counts kept across restarts.</summary>
    internal const string QuotaPrefix = "tokens|";

    /// <summary>A call refused for its tokens: the limit and when its window turns.</summary>
    internal readonly record struct Refusal(string Limit, int RetryAfterSeconds, bool Spend = false)
    {
        /// <summary>What the refusal says, whatever the shape it is written in.</summary>
        public string Sentence => Spend
            ? $"This call could go over the plan's spend limit ({Limit}); retry after {RetryAfterSeconds} s"
            : $"This call would go over the plan's token limit ({Limit}); retry after {RetryAfterSeconds} s";
    }

    /// <summary>
    /// Admits a call: its estimate reserved in every budget it counts against, or the refusal (the first limit it would
    /// pass). Completes at once unless a <c>sync: strict</c> budget must first lease tokens from the counter engine.
    /// </summary>
    /// <param name="targets">The alias's provider models: a spend limit reserves the call at the highest of their prices.</param>
    public ValueTask<(TokenReservation Reservation, Refusal? Refusal)> AdmitAsync(Admission admission, string alias, JsonObject body, AiOperation operation, IReadOnlyList<AiModelTarget> targets)
    {
        if (admission.Plan is not { } plan || !_runtime.Current.Config.Plans.TryGetValue(plan.Name, out var planConfig) || Limits(planConfig) is not { Count: > 0 } limits)
        {
            return ValueTask.FromResult((TokenReservation.None, (Refusal?)null));
        }

        var prompt = EstimatePrompt(body, operation);
        // A chat completion with n choices is billed n completions (and its prompt once).
        var completion = operation == AiOperation.Embeddings ? 0 : MaxTokens(body) * Choices(body, operation);
        var cost = planConfig.SpendLimits.Count > 0 ? MostExpensive(prompt, completion, targets, operation) : 0;
        var owner = admission.Application?.Id ?? "(anonymous)";
        var held = new List<(TokenBudget Budget, TokenLimitConfig Limit, long Need, uint Window)>(limits.Count);
        for (var i = 0; i < limits.Count; i++)
        {
            var limit = limits[i];
            if (!Applies(limit, alias))
            {
                continue;
            }

            var need = Count(limit, prompt, completion, cost);
            var budget = Budget(plan.Name, owner, i, limit);
            var made = Reserve(ref budget, plan.Name, owner, i, limit, need, out var window, out var retryAfter);
            if (made == Reservation.NeedsLease)
            {
                // The rest goes on once the lease has come (or the engine has failed to answer).
                return AdmitLeasingAsync(alias, prompt, completion, cost, plan.Name, owner, limits, i, budget, limit, need, window, held);
            }

            if (made == Reservation.Refused)
            {
                return ValueTask.FromResult(Refuse(held, plan.Name, limit, retryAfter));
            }

            held.Add((budget, limit, need, window));
        }

        return ValueTask.FromResult((Holding(prompt, held), (Refusal?)null));
    }

    // The strict path of AdmitAsync from limit number `index`, whose budget does not hold the `need` tokens this call needs.
    private async ValueTask<(TokenReservation, Refusal?)> AdmitLeasingAsync(string alias, long prompt, long completion, long cost, string plan, string owner, IReadOnlyList<TokenLimitConfig> limits, int index,
        TokenBudget budget, TokenLimitConfig limit, long need, uint window, List<(TokenBudget Budget, TokenLimitConfig Limit, long Need, uint Window)> held)
    {
        var cluster = _runtime.Counters.Cluster!;
        for (var i = index; i < limits.Count; i++)
        {
            if (i > index)
            {
                limit = limits[i];
                if (!Applies(limit, alias))
                {
                    continue;
                }

                need = Count(limit, prompt, completion, cost);
                budget = Budget(plan, owner, i, limit);
            }

            Reservation made;
            int retryAfter = 0;
            var leases = 0;
            while (true)
            {
                if (i > index || leases > 0)
                {
                    made = Reserve(ref budget, plan, owner, i, limit, need, out window, out retryAfter);
                }
                else
                {
                    made = Reservation.NeedsLease;
                }

                if (made != Reservation.NeedsLease)
                {
                    break;
                }

                if (++leases > MaxLeasesPerCall)
                {
                    // Other calls on this node took each lease before this one could use it: refused, not waited on forever.
                    made = Reservation.Refused;
                    retryAfter = 1;
                    break;
                }

                var waiting = budget;
                waiting.Wait(need);
                try
                {
                    await cluster.LeaseTokensAsync(waiting, limit, window).ConfigureAwait(false);
                }
                finally
                {
                    waiting.Wait(-need);
                }
            }

            if (made == Reservation.Refused)
            {
                return Refuse(held, plan, limit, retryAfter);
            }

            held.Add((budget, limit, need, window));
        }

        return (Holding(prompt, held), null);
    }

    // How many leases one call may wait for before it is refused. A lease asks for what the calls waiting when it starts
    // lack, so a burst on one node waits for the lease in flight and then one more; calls that keep arriving while leases
    // come back short of them could wait longer, and this bounds that wait, not the budget.
    private const int MaxLeasesPerCall = 16;

    private static bool Applies(TokenLimitConfig limit, string alias) => limit.Model is not { } model || string.Equals(model, alias, StringComparison.Ordinal);

    // One try at reserving `need` in `budget` (replaced by its successor when it was swept meanwhile). A strict budget
    // decides by its onEngineDown while the engine is down, and leases ahead once it has reserved.
    private Reservation Reserve(ref TokenBudget budget, string plan, string owner, int index, TokenLimitConfig limit, long need, out uint window, out int retryAfter)
    {
        var cluster = _runtime.Counters.Cluster;
        Reservation made;
        while (true)
        {
            var fallback = budget.IsStrict ? cluster?.TokenFallbackCap(limit) : null;
            made = budget.TryReserve(need, limit.Tokens, _time.GetUtcNow().UtcTicks, out window, out retryAfter, out _, fallback);
            if (made != Reservation.Retired)
            {
                break;
            }

            // Swept between the lookup and the reservation: the sweep removes it at once (done here too, in case this call is
            // first), and the next lookup makes its successor.
            _budgets.TryRemove(new KeyValuePair<string, TokenBudget>(Key(plan, owner, index, limit), budget));
            budget = Budget(plan, owner, index, limit);
        }

        if (made == Reservation.Made && budget.IsStrict)
        {
            cluster?.LeaseTokensAhead(budget, limit, window);
        }

        return made;
    }

    // Gives back what the call had reserved under the limits before the one that refused it, and counts the refusal with the
    // plan's request limits' (gatehouse.limit.refusals): only refused calls come here.
    private (TokenReservation, Refusal?) Refuse(List<(TokenBudget Budget, TokenLimitConfig Limit, long Need, uint Window)> held, string plan, TokenLimitConfig limit, int retryAfter)
    {
        Observability.GatewayMetrics.Limited(plan, limit.Per, limit.CountsCost ? Observability.GatewayMetrics.LimitKind.Spend : Observability.GatewayMetrics.LimitKind.Tokens, Observability.GatewayMetrics.LimitSource.Proxy);

        var now = _time.GetUtcNow().UtcTicks;
        foreach (var (b, _, n, w) in held)
        {
            b.Settle(n, 0, w, now);
        }

        var per = limit.Per.ToString().ToLowerInvariant();
        return (TokenReservation.None, limit.CountsCost
            ? new Refusal(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Gatehouse.Model.Usage.AiCost.Units(limit.Tokens)} per {per}"), retryAfter, Spend: true)
            : new Refusal($"{limit.Tokens} {limit.Count.ToString().ToLowerInvariant()} tokens per {per}", retryAfter));
    }

    private TokenReservation Holding(long prompt, List<(TokenBudget Budget, TokenLimitConfig Limit, long Need, uint Window)> held) =>
        held.Count == 0 ? TokenReservation.None : new TokenReservation(prompt, (usage, cost) =>
        {
            var at = _time.GetUtcNow().UtcTicks;
            foreach (var (budget, limit, need, window) in held)
            {
                budget.Settle(need, Count(limit, usage.Prompt, usage.Completion, cost), window, at);
            }
        });

    // A plan's token limits and spend limits as one list (PlanConfig.ModelLimits), made once per plan of each config.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<PlanConfig, IReadOnlyList<TokenLimitConfig>> LimitLists = [];

    private static IReadOnlyList<TokenLimitConfig> Limits(PlanConfig plan) =>
        plan.SpendLimits.Count == 0 ? plan.TokenLimits : LimitLists.GetValue(plan, static p => p.ModelLimits());

    // What a call costs at most, in nano-units: its estimate at the highest prices among the provider models that serve it.
    private static long MostExpensive(long prompt, long completion, IReadOnlyList<AiModelTarget> targets, AiOperation operation)
    {
        double promptPrice = 0, completionPrice = 0;
        foreach (var target in targets)
        {
            if (target.Price is { } price && target.Provider.Serves(operation))
            {
                // A prompt token costs at most the prompt price or, written to the cache, the cache-write price.
                promptPrice = Math.Max(promptPrice, Math.Max(price.Prompt, price.CacheWrite ?? 0));
                completionPrice = Math.Max(completionPrice, price.Completion);
            }
        }

        return Gatehouse.Model.Usage.AiCost.Nanos(prompt, completion, promptPrice, completionPrice);
    }

    /// <summary>Used and reserved tokens (nano-units for a spend limit) of an application under its plan's limit number <paramref name="index"/> (token limits, then spend limits).</summary>
    internal (long Used, long Reserved) Read(string plan, string application, int index)
    {
        var limit = Limits(_runtime.Current.Config.Plans[plan])[index];
        return Budget(plan, application, index, limit).Read(_time.GetUtcNow().UtcTicks);
    }

    /// <summary>
    /// The token and spend limits of <paramref name="application"/>'s plan with what is left of each now, on this node:
    /// used is what calls settled and what calls in flight hold. Reading makes no budget (an application that has not
    /// called in the window has used nothing, or what a restarted node found kept).
    /// </summary>
    internal IEnumerable<Gatehouse.Model.Usage.QuotaWindow> Windows(string plan, string application)
    {
        if (!_runtime.Current.Config.Plans.TryGetValue(plan, out var planConfig))
        {
            yield break;
        }

        var limits = Limits(planConfig);
        var now = _time.GetUtcNow();
        for (var i = 0; i < limits.Count; i++)
        {
            var limit = limits[i];
            var window = Limiting.LimitWindows.Index(limit.Per, now.UtcTicks);
            long used = 0;
            if (_budgets.TryGetValue(Key(plan, application, i, limit), out var budget))
            {
                var (settled, reserved) = budget.Read(now.UtcTicks);
                used = settled + reserved;
            }
            else if (_seeds.TryGetValue(EngineKey(plan, application, i, limit), out var seed) && seed.Window == window)
            {
                used = seed.Used;
            }

            var period = limit.Per.ToString().ToLowerInvariant();
            yield return new Gatehouse.Model.Usage.QuotaWindow(
                limit.CountsCost ? $"spend/{period}" : $"tokens/{period}", period, limit.Per >= LimitPeriod.Hour, Shadow: false, limit.Tokens, used,
                now.AddSeconds(Limiting.LimitWindows.SecondsUntilEnd(limit.Per, window, now.UtcTicks)))
            {
                Unit = limit.CountsCost ? "cost" : "tokens",
                Model = limit.Model,
            };
        }
    }

    /// <summary>
    /// Tokens <paramref name="application"/> had used under the limit named <paramref name="limit"/> in <paramref name="window"/>
    /// (kept across a restart, loaded at start): its budget starts from them when it is first used.
    /// </summary>
    internal void Seed(string application, string limit, uint window, long used) => _seeds[$"{limit}|{application}"] = (window, used);

    /// <summary>The budgets counted on this node alone per hour or longer, with the tokens settled in their current window: what is kept across restarts.</summary>
    internal IEnumerable<(string Application, string Limit, LimitPeriod Per, uint Window, long Used)> Quotas()
    {
        var now = _time.GetUtcNow().UtcTicks;
        foreach (var budget in _budgets.Values)
        {
            if (budget.Quota is { } quota)
            {
                var (window, used) = budget.Settled(now);
                yield return (quota.Application, quota.Limit, budget.Per, window, used);
            }
        }
    }

    /// <summary>Budgets held (one per application and token limit used in its current window, and calls in flight).</summary>
    internal int BudgetCount => _budgets.Count;

    /// <summary>
    /// Drops the budgets whose window has passed and that no call in flight holds; returns how many. Run once a minute with
    /// the limit counters' sweep (GatewayRuntime), so memory is bounded by the budgets in use, not by every application
    /// that ever called.
    /// </summary>
    internal int Sweep(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var entry in _budgets)
        {
            if (entry.Value.TryRetire(now.UtcTicks) && _budgets.TryRemove(entry))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>The 429 of a refused call, in the shape of the API it called (Anthropic's for its Messages API).</summary>
    public Task WriteRefusalAsync(HttpContext context, Refusal refusal, string requestId, bool anthropic = false)
    {
        var message = refusal.Sentence + ", or ask for fewer tokens (max_tokens).";
        var retryAfter = refusal.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return anthropic
            ? AiJson.WriteAnthropicErrorAsync(context, StatusCodes.Status429TooManyRequests, message, requestId, retryAfter)
            : AiJson.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "tokens", refusal.Spend ? "spend_limit_exceeded" : "token_limit_exceeded", message, requestId, retryAfter);
    }

    // Keyed by the limit as written too, so that a reload that changes a limit starts its budget afresh; a cluster budget's
    // name at the engine is that key without the sync mode (the same on every node with the same config, and a switch
    // between strict and fast keeps the window's count at the engine), which only the node's own budget object holds.
    private static string Key(string plan, string owner, int index, TokenLimitConfig limit) => $"{EngineKey(plan, owner, index, limit)}|{limit.Sync}";

    private static string EngineKey(string plan, string owner, int index, TokenLimitConfig limit) => $"{LimitName(plan, index, limit)}|{owner}";

    // The limit's part of the names above (the application's is after it).
    private static string LimitName(string plan, int index, TokenLimitConfig limit) => $"{QuotaPrefix}{plan}|{index}|{limit.Per}|{(limit.CountsCost ? "Cost" : limit.Count)}|{limit.Model}";

    private TokenBudget Budget(string plan, string owner, int index, TokenLimitConfig limit)
    {
        var key = Key(plan, owner, index, limit);
        if (_budgets.TryGetValue(key, out var budget))
        {
            return budget;
        }

        var cluster = _runtime.Counters.Cluster;
        var shared = cluster is not null && (limit.Scope ?? LimitScope.Cluster) == LimitScope.Cluster;
        if (shared && Interlocked.Exchange(ref _registered, 1) == 0)
        {
            cluster!.AddTallies(() => _budgets.Values.Where(b => b.IsShared));
        }

        if (shared || limit.Per < LimitPeriod.Hour)
        {
            return _budgets.GetOrAdd(key, static (_, state) => new TokenBudget(state.Per, state.EngineKey, state.Sync),
                (limit.Per, EngineKey: shared ? EngineKey(plan, owner, index, limit) : null, limit.Sync));
        }

        // Counted on this node alone, per hour or longer: kept across restarts, and started from what was kept. The seed is
        // read, not taken, in the factory (which may run more than once), and dropped once a budget holds it.
        var quota = (Application: owner, Limit: LimitName(plan, index, limit));
        var name = $"{quota.Limit}|{owner}";
        budget = _budgets.GetOrAdd(key, static (_, state) => new TokenBudget(state.Per, null, state.Sync, state.Quota,
            state.Seeds.TryGetValue(state.Name, out var seed) ? seed : null), (limit.Per, limit.Sync, Quota: quota, Name: name, Seeds: _seeds));
        if (!_seeds.IsEmpty)
        {
            _seeds.TryRemove(name, out _);
        }

        return budget;
    }

    private static long Count(TokenLimitConfig limit, long prompt, long completion, long cost) => limit.CountsCost ? cost : limit.Count switch
    {
        TokenCount.Prompt => prompt,
        TokenCount.Completion => completion,
        _ => prompt + completion,
    };

    private static long MaxTokens(JsonObject body) => RequestedMaxTokens(body) ?? DefaultMaxTokens;

    // The choices a call asks for: its 'n' (a chat completion's, which the handler has checked is 1 to MaxChoices), else 1.
    private static int Choices(JsonObject body, AiOperation operation) =>
        operation == AiOperation.Chat && body["n"] is JsonValue value && value.TryGetValue<int>(out var n) && n is > 1 and <= MaxChoices ? n : 1;

    /// <summary>The output limit a call sets, in any API's name for it; null when it sets none.</summary>
    internal static long? RequestedMaxTokens(JsonObject body)
    {
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens", "max_output_tokens"])
        {
            if (body[name] is JsonValue v && v.TryGetValue<long>(out var n) && n > 0)
            {
                return n;
            }
        }

        return null;
    }

    /// <summary>
    /// The prompt's tokens: each message's text counted with o200k_base, plus OpenAI's 3 per message and 3 per reply,
    /// and the tools the call defines (an agent's tools are often most of its prompt: Claude Code sends thousands of
    /// tokens of them with every call), counted as the JSON they are sent as.
    /// </summary>
    internal static long EstimatePrompt(JsonObject body, AiOperation operation)
    {
        if (operation == AiOperation.Embeddings)
        {
            return EstimateText(body, operation);
        }

        var total = EstimateText(body, operation);
        if (body["tools"] is JsonArray tools)
        {
            foreach (var tool in tools)
            {
                total += tool is null ? 0 : TokenCounter.Count(tool.ToJsonString());
            }
        }

        return total;
    }

    private static long EstimateText(JsonObject body, AiOperation operation)
    {
        long total = 0;
        if (operation == AiOperation.Embeddings)
        {
            foreach (var text in Texts(body["input"]))
            {
                total += TokenCounter.Count(text);
            }

            return total;
        }

        if (operation == AiOperation.Responses)
        {
            // The Responses API: 'instructions', and 'input' as text or as items (messages, and tool calls and their outputs).
            total += 3;
            if (body["instructions"] is JsonValue instructions && instructions.TryGetValue<string>(out var text))
            {
                total += 3 + TokenCounter.Count(text);
            }

            if (body["input"] is JsonArray items)
            {
                foreach (var item in items)
                {
                    total += 3;
                    foreach (var part in Texts(item?["content"]).Concat(Texts(item?["output"])).Concat(Texts(item?["arguments"])))
                    {
                        total += TokenCounter.Count(part);
                    }
                }
            }
            else
            {
                foreach (var input in Texts(body["input"]))
                {
                    total += 3 + TokenCounter.Count(input);
                }
            }

            return total;
        }

        if (operation == AiOperation.Messages)
        {
            // Anthropic's Messages API: 'system' as text or blocks, and each message's text, tool results and tool inputs.
            total += 3;
            foreach (var text in Texts(body["system"]))
            {
                total += TokenCounter.Count(text);
            }

            foreach (var message in body["messages"] as JsonArray ?? [])
            {
                total += 3;
                var content = message?["content"];
                foreach (var text in Texts(content))
                {
                    total += TokenCounter.Count(text);
                }

                foreach (var block in content as JsonArray ?? [])
                {
                    foreach (var text in Texts(block?["content"]))
                    {
                        total += TokenCounter.Count(text);
                    }

                    if (block?["input"] is JsonObject input)
                    {
                        total += TokenCounter.Count(input.ToJsonString());
                    }
                }
            }

            return total;
        }

        if (body["messages"] is JsonArray messages)
        {
            total += 3;
            foreach (var message in messages)
            {
                total += 3;
                foreach (var text in Texts(message?["content"]))
                {
                    total += TokenCounter.Count(text);
                }

                // An assistant's tool calls: the names and arguments the model wrote, read back as prompt.
                if (message?["tool_calls"] is JsonArray calls)
                {
                    foreach (var call in calls)
                    {
                        if (call?["function"] is JsonObject function)
                        {
                            total += TokenCounter.Count(function.ToJsonString());
                        }
                    }
                }
            }
        }

        return total;
    }

    private static IEnumerable<string> Texts(JsonNode? node)
    {
        switch (node)
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                yield return s;
                break;
            case JsonArray parts:
                foreach (var part in parts)
                {
                    if (part is JsonValue pv && pv.TryGetValue<string>(out var ps))
                    {
                        yield return ps;
                    }
                    else if (part?["text"] is JsonValue t && t.TryGetValue<string>(out var text))
                    {
                        yield return text;
                    }
                }

                break;
        }
    }
}
