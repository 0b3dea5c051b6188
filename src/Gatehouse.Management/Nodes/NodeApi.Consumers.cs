using System.Collections.Concurrent;
using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Model.Consumers;
using Gatehouse.Model.Nodes;
using Gatehouse.Model.Registrations;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Nodes;

// What lives in the store beside the revisions: portal applications (with their key hashes) and self-registered
// targets. Both are signed with the snapshot key: a forged key batch would grant access, a forged registration would
// send traffic to the forger. TLS and the node token say who the control plane is; only the signature says that this
// control plane's deployment issued the bytes, and it is what the node checks again when it reads its disk.
public sealed partial class NodeApi
{
    private static async Task ConsumersAsync(HttpContext context, NodeApiOptions options, ConcurrentDictionary<string, string> bindings, RevisionWatch watch)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is null)
        {
            return;
        }

        // No 'after': the whole set, at once (a node's first ask, or after it lost track). 'after=N': the changes after N,
        // waiting for one when there is none yet.
        var afterText = context.Request.Query["after"].ToString();
        long? after = null;
        if (afterText.Length > 0)
        {
            if (!long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                await AdminRequests.BadParameter($"'after' must be a consumer change number (0 or more), not '{afterText}'.").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            after = parsed;
        }

        var store = options.Store;
        if (after is { } known)
        {
            var newest = await watch.WaitNewerAsync(known, options.LongPoll, context.RequestAborted).ConfigureAwait(false);
            if (newest <= known)
            {
                // The watch may lag the store by one poll; a node ahead of the store (restored from a backup, another
                // store) gets the whole set instead, so it does not wait forever for numbers that will not come.
                if (newest >= known || await store.NewestConsumerSeqAsync(context.RequestAborted).ConfigureAwait(false) >= known)
                {
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                after = null;
            }
        }

        var (changed, seq) = await store.ReadApplicationsSinceAsync(after ?? 0, context.RequestAborted).ConfigureAwait(false);
        if (after is { } since && since < await store.ConsumerHorizonAsync(context.RequestAborted).ConfigureAwait(false))
        {
            // A deletion the node has not seen was pruned from the log (gatehouse prune --audit-older-than): the changes
            // cannot tell it, so it gets the whole set, which it takes in place of what it has.
            (changed, seq) = await store.ReadApplicationsSinceAsync(0, context.RequestAborted).ConfigureAwait(false);
            after = null;
        }

        var upserts = new List<ConsumerApplication>(changed.Count);
        var removed = new List<string>();
        foreach (var application in changed)
        {
            if (application.Deleted)
            {
                if (after is not null)
                {
                    removed.Add(application.Id);
                }
            }
            else
            {
                upserts.Add(application.ToConsumer());
            }
        }

        var envelope = new ConsumerBatch(after ?? 0, seq, after is null, DateTimeOffset.UtcNow, upserts, removed).Sign(options.Signer.Key);
        context.Response.ContentType = "application/json";
        context.Response.Headers["Gatehouse-Consumer-Seq"] = seq.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(envelope, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RegistrationsAsync(HttpContext context, NodeApiOptions options, ConcurrentDictionary<string, string> bindings, RegistrationCache cache)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is null)
        {
            return;
        }

        var envelope = await cache.GetAsync(options, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(envelope, context.RequestAborted).ConfigureAwait(false);
    }

    // Nodes poll every second: one store read and one signature per quarter second, however many nodes ask.
    private sealed class RegistrationCache
    {
        private static readonly TimeSpan Fresh = TimeSpan.FromMilliseconds(250);
        private readonly SemaphoreSlim _lock = new(1, 1);
        private (DateTimeOffset At, byte[] Envelope)? _last;

        public async Task<byte[]> GetAsync(NodeApiOptions options, CancellationToken cancellationToken)
        {
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var now = DateTimeOffset.UtcNow;
                if (_last is { } last && now - last.At < Fresh)
                {
                    return last.Envelope;
                }

                var rows = await options.Store.ListRegistrationsAsync(now, cancellationToken).ConfigureAwait(false);
                var services = new Dictionary<string, IReadOnlyList<RegisteredTarget>>(StringComparer.Ordinal);
                foreach (var group in rows.GroupBy(r => r.Service, StringComparer.Ordinal))
                {
                    // As RegistrationFollower: rows are written in normalized form; one written by something else is skipped.
                    services[group.Key] = [.. group.Where(r => Uri.TryCreate(r.Url, UriKind.Absolute, out _)).Select(r => new RegisteredTarget(new Uri(r.Url), r.ExpiresAt))];
                }

                var envelope = new RegistrationSet(now, services).Sign(options.Signer.Key);
                _last = (now, envelope);
                return envelope;
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}
