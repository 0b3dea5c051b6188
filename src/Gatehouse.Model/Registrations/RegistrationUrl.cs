using System.Net;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Registrations;

/// <summary>
/// The rules for a self-registered target's URL, shared by the admin API (which refuses a bad one) and the gateway
/// (which ignores one that the service's current settings no longer allow).
/// </summary>
public static class RegistrationUrl
{
    /// <summary>
    /// Checks <paramref name="url"/>: absolute http or https, a host, no user info, query or fragment, no path beyond
    /// <c>/</c>, a port that can be connected to, and a host inside <see cref="RegistrationConfig.AllowedNetworks"/>
    /// when those are set. <paramref name="normalized"/> is <c>scheme://host:port</c> (lower case, the default port
    /// left out), the form registrations are stored and compared in.
    /// </summary>
    public static bool TryParse(string url, RegistrationConfig config, out Uri? normalized, out string? error)
    {
        ArgumentNullException.ThrowIfNull(config);
        normalized = null;
        error = null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            error = $"'{url}' is not a target address; write http://HOST:PORT or https://HOST:PORT.";
            return false;
        }

        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.AbsolutePath != "/")
        {
            error = $"'{url}' has user info, a path, a query or a fragment; a registered target is only scheme://host:port.";
            return false;
        }

        if (!Validation.ConfigValidator.TryParseTargetUrl(url, out _, out error))
        {
            return false;
        }

        if (config.AllowedNetworks.Count > 0)
        {
            if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
            {
                error = $"'{url}' names host '{uri.Host}'; this service only takes registrations by IP address (registration.allowedNetworks is set).";
                return false;
            }

            if (!InAny(address, config.AllowedNetworks))
            {
                error = $"'{url}' is not in the service's registration.allowedNetworks ({string.Join(", ", config.AllowedNetworks)}).";
                return false;
            }
        }

        normalized = new Uri(uri.GetLeftPart(UriPartial.Authority));
        return true;
    }

    private static bool InAny(IPAddress address, IReadOnlyList<string> networks)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var entry in networks)
        {
            // Validated when the config loaded: an address or a range with no bits past its prefix.
            var network = entry.Contains('/', StringComparison.Ordinal)
                ? IPNetwork.Parse(entry)
                : new IPNetwork(IPAddress.Parse(entry), IPAddress.Parse(entry).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
