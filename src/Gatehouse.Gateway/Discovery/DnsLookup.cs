using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Gatehouse.Gateway.Discovery;

/// <summary>One SRV record of a lookup: where a destination is (its host's addresses, its port) and its share.</summary>
internal sealed record SrvTarget(string Host, int Port, int Priority, int Weight, IPAddress[] Addresses);

/// <summary>
/// A service's DNS lookups through the DnsClient package (SRV records have no lookup in .NET itself): SRV names, and,
/// when the service names its own DNS servers (<c>dnsServers</c>, say Consul's agent), address lookups too.
/// </summary>
internal sealed class DnsLookup
{
    private readonly LookupClient _client;

    public DnsLookup(IReadOnlyList<string> servers)
    {
        var endpoints = servers.Select(s => IPEndPoint.Parse(s) is { Port: 0 } e ? new IPEndPoint(e.Address, 53) : IPEndPoint.Parse(s)).ToArray();
        var options = endpoints.Length > 0 ? new LookupClientOptions(endpoints) : new LookupClientOptions();
        // The resolver refreshes on its own schedule, and a record's TTL must not hold back a change it should see.
        options.UseCache = false;
        options.Timeout = TimeSpan.FromSeconds(3);
        options.Retries = 1;
        options.ThrowDnsErrors = false;
        _client = new LookupClient(options);
    }

    /// <summary>The A records of <paramref name="host"/>, or its AAAA records when it has no A record (the resolver prefers IPv4 anyway).</summary>
    public async Task<IPAddress[]> AddressesAsync(string host, CancellationToken cancellationToken)
    {
        var v4 = await QueryAsync(host, QueryType.A, cancellationToken).ConfigureAwait(false);
        if (v4.Answers.OfType<ARecord>().Select(r => r.Address).ToArray() is { Length: > 0 } found)
        {
            return found;
        }

        var v6 = await QueryAsync(host, QueryType.AAAA, cancellationToken).ConfigureAwait(false);
        return [.. v6.Answers.OfType<AaaaRecord>().Select(r => r.Address)];
    }

    /// <summary>The SRV records of <paramref name="name"/>, each with its host's addresses (from the answer's additional records when there, else looked up).</summary>
    public async Task<SrvTarget[]> SrvAsync(string name, CancellationToken cancellationToken)
    {
        var response = await QueryAsync(name, QueryType.SRV, cancellationToken).ConfigureAwait(false);
        var records = response.Answers.OfType<SrvRecord>().ToArray();
        var targets = new SrvTarget[records.Length];
        for (var i = 0; i < records.Length; i++)
        {
            var host = records[i].Target.Value.TrimEnd('.');
            var known = response.Additionals.OfType<AddressRecord>().Where(a => string.Equals(a.DomainName.Value.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase))
                .Select(a => a.Address).ToArray();
            targets[i] = new SrvTarget(host, records[i].Port, records[i].Priority, records[i].Weight,
                known.Length > 0 ? known : await RecordAddressesAsync(host, cancellationToken).ConfigureAwait(false));
        }

        return targets;
    }

    // A record whose host does not resolve names no destination; the others still do (the resolver then skips it).
    private async Task<IPAddress[]> RecordAddressesAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            return await AddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (DnsResponseException) when (!cancellationToken.IsCancellationRequested)
        {
            return [];
        }
    }

    // A name that does not exist, or a server that refuses, is a failed lookup (the resolver keeps what it had); an
    // existing name without records of the type is an empty answer.
    private async Task<IDnsQueryResponse> QueryAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        IDnsQueryResponse response;
        try
        {
            response = await _client.QueryAsync(name, type, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (DnsResponseException) when (cancellationToken.IsCancellationRequested)
        {
            // DnsClient wraps a cancellation in its own exception; the resolver's loop stops on a cancellation.
            throw new OperationCanceledException(cancellationToken);
        }

        if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NoError)
        {
            throw new DnsResponseException((DnsResponseCode)response.Header.ResponseCode);
        }

        return response;
    }
}
