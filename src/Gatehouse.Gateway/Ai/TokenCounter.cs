using Microsoft.ML.Tokenizers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Counts tokens where a provider's usage is missing, and for the prompt estimate of admission: o200k_base, the
/// encoding of OpenAI's current models (from <c>Microsoft.ML.Tokenizers.Data.O200kBase</c>, no download). Other
/// providers' tokenizers differ, so such counts are marked estimated.
/// </summary>
internal static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static int Count(string text) => text.Length == 0 ? 0 : Tokenizer.Value.CountTokens(text);
}
