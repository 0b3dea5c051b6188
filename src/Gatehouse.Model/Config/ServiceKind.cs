namespace Gatehouse.Model.Config;

/// <summary>What a service is.</summary>
public enum ServiceKind
{
    /// <summary>An HTTP API: requests are forwarded to its targets.</summary>
    Http,
    /// <summary>Model providers behind one OpenAI-compatible API (<c>ai</c>, docs/ai.md).</summary>
    Ai,
}
