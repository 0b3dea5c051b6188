namespace Gatehouse.Model.Usage;

/// <summary>
/// One limit of an application's plan as it stands now: <see cref="Used"/> of <see cref="Limit"/> in the window that ends
/// at <see cref="ResetsAt"/>, in <see cref="Unit"/>s (requests, or a token or spend limit's tokens or nano-units of the
/// currency). Counted per gateway node (docs/limits.md).
/// </summary>
/// <param name="Name">The limit's name, as in the <c>RateLimit-Policy</c> header (<c>day</c>, <c>minute</c>, ...).</param>
/// <param name="Period">The window: <c>second</c>, <c>minute</c>, <c>hour</c>, <c>day</c> or <c>month</c>.</param>
/// <param name="Quota">True for quotas (hour, day, month), false for rate limits.</param>
/// <param name="Shadow">True for a limit in shadow mode, which counts but never refuses.</param>
public sealed record QuotaWindow(string Name, string Period, bool Quota, bool Shadow, long Limit, long Used, DateTimeOffset ResetsAt)
{
    /// <summary>What <see cref="Limit"/> and <see cref="Used"/> count: <c>requests</c>, <c>tokens</c> (a token limit) or <c>cost</c> (a spend limit, in nano-units).</summary>
    public string Unit { get; init; } = "requests";

    /// <summary>For a token or spend limit of one model alias: the alias.</summary>
    public string? Model { get; init; }

    /// <summary>What is left in the window.</summary>
    public long Remaining => Math.Max(0, Limit - Used);

    /// <summary>A value of this window as people read it: a count, or for a spend limit an amount of the currency (<c>0.012</c>).</summary>
    public string Format(long value) => Unit == "cost"
        ? AiCost.Units(value).ToString("#,0.#########", System.Globalization.CultureInfo.InvariantCulture)
        : value.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The limit as the pages write it: <c>1,000 per day</c>, <c>100,000 tokens per day</c>, <c>spend 50 per month, model smart</c>.</summary>
    public string Describe() => Unit switch
    {
        "tokens" => $"{Format(Limit)} tokens per {Period}",
        "cost" => $"spend {Format(Limit)} per {Period}",
        _ => $"{Format(Limit)} per {Period}",
    } + (Model is { } model ? ", model " + model : "");

    /// <summary>The operation this limit is of (the plan's <c>operationLimits</c>); null for a limit of every call.</summary>
    public string? Operation { get; init; }
}
