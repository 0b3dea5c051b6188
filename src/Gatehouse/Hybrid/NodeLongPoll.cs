using System.Net;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// The loop a hybrid node's feeds (consumer batches, cache purges) ask the control plane with: a long poll that answers
/// 204 when nothing came (ask again at once), 200 with a signed batch for the feed to consider, or anything else (the
/// sync loop logs what the control plane says about the token; a feed only waits 10 s). A refused batch waits 5 s, since
/// the same answer would come back at once; a control plane that cannot be reached is asked again with back-off (the
/// config loop logs the outage once). One loop, so the feeds cannot drift apart in how they wait.
/// </summary>
internal static class NodeLongPoll
{
    /// <param name="http">The node's client of the control plane.</param>
    /// <param name="controlPlane">The control plane's base address.</param>
    /// <param name="next">
    /// Before each ask: the path to ask, and what to do with a 200's body (false when the batch is refused), which may use
    /// what the path was made from.
    /// </param>
    /// <param name="stop">Ends the loop.</param>
    public static async Task RunAsync(HttpClient http, Uri controlPlane, Func<(string Path, Func<byte[], Task<bool>> Consider)> next, CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var (path, consider) = next();
                using var response = await http.GetAsync(new Uri(controlPlane, path), stop).ConfigureAwait(false);
                failures = 0;
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    continue;
                }

                if (response.StatusCode != HttpStatusCode.OK)
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), stop).ConfigureAwait(false);
                    continue;
                }

                if (!await consider(await response.Content.ReadAsByteArrayAsync(stop).ConfigureAwait(false)).ConfigureAwait(false))
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * (1 << Math.Min(++failures, 6)))), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
