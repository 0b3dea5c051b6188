using Gatehouse.Gateway.Ai.Anthropic;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A whole (not streamed) answer: read within the provider's timeout and a size bound, translated to the client's API
/// where the provider speaks another, its usage read, and written to the client in one piece.
/// </summary>
internal sealed partial class AiHandler
{
    /// <summary>A whole (not streamed) provider response larger than this is refused rather than buffered.</summary>
    private const int MaxResponse = 32 * 1024 * 1024;

    /// <summary>
    /// A whole JSON response (not streamed), or a provider's 4xx, passed to the client once read; translated first when
    /// the provider speaks the other API than the client (<paramref name="translation"/>). A client that leaves before
    /// it is read ends the reading when the provider does not <paramref name="finish"/> for it (<paramref name="timeout"/>
    /// is then linked to the client's request); when it does, the reading goes on without it (<see cref="AiCall.Drain"/>).
    /// </summary>
    private static async Task<RelayOutcome> RelayWholeAsync(AiCall call, HttpResponseMessage response, CancellationTokenSource timeout, Translation translation, long created, bool finish)
    {
        var aborted = call.Context.RequestAborted;
        // Within the call's timeout too: a provider that stalls before its body is whole can still be left.
        var reading = ReadWholeAsync(response, timeout.Token);
        (byte[]? Bytes, RelayOutcome Failed) read;
        try
        {
            read = await (finish ? reading.WaitAsync(aborted) : reading).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            call.Drain = DrainWholeAsync(call, response, reading, translation, created);
            return RelayOutcome.Left;
        }

        if (aborted.IsCancellationRequested && !finish)
        {
            return RelayOutcome.Left;
        }

        if (read.Bytes is not { } whole)
        {
            return read.Failed;
        }

        var success = response.IsSuccessStatusCode;
        if (Answer(call, response, whole, translation, created) is not { } bytes)
        {
            return RelayOutcome.Broken;
        }

        if (success && call.KeepId is { } keepId)
        {
            // Kept by the gateway: the client gets the gateway's id (the provider's names nothing it could use).
            bytes = AiResponses.Stamp(bytes, keepId, call.KeepConversation, out var output) ?? bytes;
            call.Final = bytes;
            await call.KeepAsync!(bytes, output).ConfigureAwait(false);
        }

        var http = call.Context.Response;
        http.StatusCode = (int)response.StatusCode;
        http.ContentType = "application/json";
        http.ContentLength = bytes.Length;
        http.Headers["X-Request-Id"] = call.RequestId;
        try
        {
            await http.Body.WriteAsync(bytes, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left; the usage still counts.
        }

        return RelayOutcome.Done;
    }

    // A whole response's body, or why there is none (a timeout, a broken or oversized body).
    private static async Task<(byte[]? Bytes, RelayOutcome Failed)> ReadWholeAsync(HttpResponseMessage response, CancellationToken deadline)
    {
        try
        {
            var content = await response.Content.ReadAsStreamAsync(deadline).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await content.ReadAsync(chunk, deadline).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxResponse)
                {
                    return (null, RelayOutcome.Broken);
                }

                buffer.Write(chunk, 0, read);
            }

            return (buffer.ToArray(), RelayOutcome.Done);
        }
        catch (OperationCanceledException)
        {
            return (null, RelayOutcome.TimedOut);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (null, RelayOutcome.Broken);
        }
    }

    /// <summary>
    /// A whole response's body as the client gets it, translated where needed, with the call's usage recorded when it is a
    /// success; null when a success is broken (not the API's JSON).
    /// </summary>
    private static byte[]? Answer(AiCall call, HttpResponseMessage response, byte[] bytes, Translation translation, long created)
    {
        var success = response.IsSuccessStatusCode;
        AiUsage? usage = null;
        var text = success ? call.CompletionText : null;
        var responseId = call.KeepId ?? "resp_" + call.RequestId;
        if (translation == Translation.ResponsesToChat)
        {
            // A chat completion's usage is read as any is; its error body already has the Responses API's shape.
            if (!AiJson.TryScan(bytes, ref usage, text) && success)
            {
                return null;
            }

            if (success)
            {
                if (ResponsesAnswer.FromCompletion(bytes, responseId, created) is not { } answer)
                {
                    return null;
                }

                bytes = answer;
            }
        }
        else if (translation != Translation.None)
        {
            var status = (int)response.StatusCode;
            var translated = (translation, success) switch
            {
                // The Responses API's errors have chat completions' shape.
                (Translation.ChatToAnthropic or Translation.ResponsesToAnthropic, false) => AnthropicResponse.ToError(bytes, status),
                (Translation.ChatToAnthropic, true) => AnthropicResponse.ToCompletion(bytes, created, text, out usage),
                (Translation.ResponsesToAnthropic, true) => AnthropicResponse.ToCompletion(bytes, created, text, out usage) is { } completion
                    ? ResponsesAnswer.FromCompletion(completion, responseId, created)
                    : null,
                (_, false) => MessagesResponse.ToError(bytes, status),
                _ => MessagesResponse.ToMessage(bytes, text, out usage),
            };
            if (translated is null)
            {
                return null;
            }

            bytes = translated;
        }
        else if (!AiJson.TryScan(bytes, ref usage, text) && success)
        {
            // A success that is not JSON is the provider's fault; a 4xx body is passed on whatever it is.
            return null;
        }

        if (success)
        {
            call.Usage = usage;
            call.Answered = true;
        }

        return bytes;
    }
}
