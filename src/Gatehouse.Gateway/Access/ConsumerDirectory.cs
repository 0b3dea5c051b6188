using System.Collections.Concurrent;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Gateway.Access;

/// <summary>
/// The applications and keys made in the developer portal, kept beside the config snapshots rather than inside them:
/// a sign-up changes one entry here, never recompiling routes, upstreams or compositions (docs/portal.md, "Consumer
/// data"). Keys are looked up after the snapshot's own (config) keys and only when there are any, so a gateway
/// without portal applications pays one integer read per unknown key. Each application binds its plan lazily against
/// the snapshot a request reads, so a new revision (new <see cref="PlanModel"/>s) needs no pass over 100,000 entries.
/// </summary>
internal sealed class ConsumerDirectory : IConsumerSink
{
    private readonly Lock _writer = new();
    private readonly ConcurrentDictionary<string, Entry> _applications = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyEntry> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyEntry>.AlternateLookup<ReadOnlySpan<char>> _keyLookup;

    // OAuth client ids (ConsumerApplication.ClientIds) to the entry that holds each; looked up after the config's own.
    private readonly ConcurrentDictionary<string, Entry> _clients = new(StringComparer.Ordinal);
    private volatile int _count;

    public ConsumerDirectory() => _keyLookup = _keys.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Applications held.</summary>
    public int Count => _count;

    /// <summary>Raised after every change, with the application id (null after a reset); for tests and diagnostics.</summary>
    public event Action<string?>? Changed;

    /// <summary>Raised after applications left the directory (removed, or not in a new whole set), with their ids.</summary>
    public event Action<IReadOnlyList<string>>? Removed;

    /// <summary>
    /// The application that key hash <paramref name="sha256Hex"/> belongs to, bound to <paramref name="model"/>'s plans,
    /// the key's expiry, and the directory's entry for the key (<paramref name="handle"/>, which <see cref="Revalidate"/>
    /// answers from for as long as the directory holds it); false when no portal application has it, or its plan is not in
    /// <paramref name="model"/>.
    /// </summary>
    public bool TryFind(AccessModel model, ReadOnlySpan<char> sha256Hex, out ApplicationModel? application, out long expiresUtcTicks, out object? handle)
    {
        application = null;
        expiresUtcTicks = 0;
        handle = null;
        if (_count == 0 || !_keyLookup.TryGetValue(sha256Hex, out var key))
        {
            return false;
        }

        application = key.Application.Bind(model);
        expiresUtcTicks = key.ExpiresUtcTicks;
        handle = key;
        return application is not null;
    }

    /// <summary>
    /// The application and expiry of the key entry <paramref name="handle"/> (from <c>TryFind</c>), bound to
    /// <paramref name="model"/>; false once the directory has removed or replaced that entry (a revoked or rotated key, a
    /// changed or deleted application), so a cached lookup never outlives the key it found.
    /// </summary>
    public static bool Revalidate(object handle, AccessModel model, out ApplicationModel? application, out long expiresUtcTicks)
    {
        if (handle is KeyEntry { Retired: false } key && key.Application.Bind(model) is { } bound)
        {
            (application, expiresUtcTicks) = (bound, key.ExpiresUtcTicks);
            return true;
        }

        (application, expiresUtcTicks) = (null, 0);
        return false;
    }

    /// <summary>
    /// The portal application that OAuth client <paramref name="clientId"/> belongs to, bound to <paramref name="model"/>'s
    /// plans; null when none has it (or its plan is not in <paramref name="model"/>).
    /// </summary>
    public ApplicationModel? FindClient(AccessModel model, string clientId) =>
        _count > 0 && !_clients.IsEmpty && _clients.TryGetValue(clientId, out var entry) ? entry.Bind(model) : null;

    /// <summary>The application with <paramref name="id"/> bound to <paramref name="model"/>; null when unknown.</summary>
    public ApplicationModel? Find(AccessModel model, string id) =>
        _count > 0 && _applications.TryGetValue(id, out var entry) ? entry.Bind(model) : null;

    public void Reset(IEnumerable<ConsumerApplication> applications)
    {
        ArgumentNullException.ThrowIfNull(applications);
        List<string>? removed = null;
        lock (_writer)
        {
            // Replaced in place, new entries before old ones leave (as in Upsert), never emptied first: a hybrid node takes
            // a whole set while serving (every 256 batches), and a key in both sets must not miss a lookup meanwhile.
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var application in applications)
            {
                ids.Add(application.Id);
                Add(application);
            }

            foreach (var id in _applications.Keys)
            {
                if (!ids.Contains(id) && _applications.TryRemove(id, out _))
                {
                    (removed ??= []).Add(id);
                }
            }

            // A key stays only when it is held by its application's entry of this set: a key revoked in the new set still
            // points at the old entry, a key of an application that left points at nothing.
            foreach (var (hash, held) in _keys)
            {
                if (!_applications.TryGetValue(held.Application.Application.Id, out var current) || !ReferenceEquals(current, held.Application))
                {
                    RemoveKey(hash);
                }
            }

            foreach (var (clientId, held) in _clients)
            {
                if (!_applications.TryGetValue(held.Application.Id, out var current) || !ReferenceEquals(current, held))
                {
                    _clients.TryRemove(KeyValuePair.Create(clientId, held));
                }
            }

            _count = _applications.Count;
        }

        Changed?.Invoke(null);
        if (removed is not null)
        {
            Removed?.Invoke(removed);
        }
    }

    public void Upsert(ConsumerApplication application)
    {
        ArgumentNullException.ThrowIfNull(application);
        lock (_writer)
        {
            // New keys go in before old ones come out, so a key kept across the change never misses a lookup.
            var previous = _applications.GetValueOrDefault(application.Id);
            Add(application);
            if (previous is not null)
            {
                foreach (var key in previous.Application.Keys)
                {
                    if (_keys.TryGetValue(key.Sha256, out var held) && held.Application == previous)
                    {
                        RemoveKey(key.Sha256);
                    }
                }

                RemoveClients(previous);
            }

            _count = _applications.Count;
        }

        Changed?.Invoke(application.Id);
    }

    public void Remove(string id)
    {
        lock (_writer)
        {
            if (!_applications.TryRemove(id, out var previous))
            {
                return;
            }

            foreach (var key in previous.Application.Keys)
            {
                if (_keys.TryGetValue(key.Sha256, out var held) && held.Application == previous)
                {
                    RemoveKey(key.Sha256);
                }
            }

            RemoveClients(previous);
            _count = _applications.Count;
        }

        Changed?.Invoke(id);
        Removed?.Invoke([id]);
    }

    private void Add(ConsumerApplication application)
    {
        var entry = new Entry(application);
        _applications[application.Id] = entry;
        foreach (var key in application.Keys)
        {
            // The new entry goes in before the one it replaces is retired, so the key never misses a lookup meanwhile.
            var replaced = _keys.GetValueOrDefault(key.Sha256);
            _keys[key.Sha256] = new KeyEntry(entry, key.Expires?.UtcTicks ?? DateTime.MaxValue.Ticks);
            replaced?.Retire();
        }

        foreach (var clientId in application.ClientIds ?? [])
        {
            _clients[clientId] = entry;
        }
    }

    // The client ids an entry that left still holds (not those another entry, its replacement, holds now).
    private void RemoveClients(Entry previous)
    {
        foreach (var clientId in previous.Application.ClientIds ?? [])
        {
            _clients.TryRemove(KeyValuePair.Create(clientId, previous));
        }
    }

    /// <summary>Removes one key and retires its entry, so a cached lookup of it (<see cref="KeyCache"/>) stops answering.</summary>
    private void RemoveKey(string sha256)
    {
        if (_keys.TryRemove(sha256, out var removed))
        {
            removed.Retire();
        }
    }

    /// <summary>One key: its application's entry and its expiry; retired once the directory no longer holds it.</summary>
    private sealed class KeyEntry(Entry application, long expiresUtcTicks)
    {
        private volatile bool _retired;

        public Entry Application { get; } = application;

        public long ExpiresUtcTicks { get; } = expiresUtcTicks;

        public bool Retired => _retired;

        public void Retire() => _retired = true;
    }

    /// <summary>One application and its model bound to the plans of the last snapshot that asked.</summary>
    private sealed class Entry(ConsumerApplication application)
    {
        // Compiled once per version of the application, not per snapshot it is bound to.
        private readonly Policies.IpFiltering.IpFilter? _owner = Policies.IpFiltering.IpFilter.Compile(
            application.AllowedAddresses is { Count: > 0 } allowed ? new IpFilterConfig { Allow = allowed } : null);

        private Bound? _bound;

        public ConsumerApplication Application { get; } = application;

        public ApplicationModel? Bind(AccessModel model)
        {
            // Benign race: two requests on a new snapshot may both bind; either result is right.
            var bound = _bound;
            if (bound is not null && bound.Generation == model.Generation)
            {
                return bound.Application;
            }

            var app = model.PlanByName.TryGetValue(Application.Plan, out var plan) && !ReferenceEquals(plan, model.Anonymous)
                ? new ApplicationModel(Application.Id, Application.Account, plan, Application.State) { OwnerFilter = _owner }
                : null;
            _bound = new Bound(model.Generation, app);
            return app;
        }

        // The model by its generation, not by reference: an application not called since a reload must not keep that
        // revision's whole access model alive (its plan, in the bound application, is all it keeps).
        private sealed record Bound(long Generation, ApplicationModel? Application);
    }
}
