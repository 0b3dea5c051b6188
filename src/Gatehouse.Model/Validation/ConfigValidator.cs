using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Validation;

/// <summary>
/// Semantic checks of a bound <see cref="GatehouseConfig"/>: references, duplicates, addresses, files.
/// Every problem is reported; nothing stops at the first one.
/// </summary>
public static class ConfigValidator
{
    private static readonly string[] KnownMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

    /// <summary>Returns every problem found in <paramref name="config"/>; empty when it is valid.</summary>
    public static IReadOnlyList<ConfigError> Validate(GatehouseConfig config) => Validate(config, brokenServices: null);

    /// <summary>
    /// Validates a config bound from a document in which the services named in <paramref name="brokenServices"/>
    /// are written but could not be bound. Their errors are already reported, so routes to them are not
    /// reported again as going to an undefined service.
    /// </summary>
    internal static IReadOnlyList<ConfigError> Validate(GatehouseConfig config, IReadOnlySet<string>? brokenServices)
    {
        var errors = new List<ConfigError>();
        ValidateGateway(config.Gateway, errors);
        foreach (var (name, service) in config.Services)
        {
            ValidateService($"services.{name}", service, errors);
        }

        ValidateRoutes(config, brokenServices, errors);
        return errors;
    }

    private static void ValidateGateway(GatewayConfig gw, List<ConfigError> errors)
    {
        var addresses = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < gw.Listeners.Count; i++)
        {
            var path = $"gateway.listeners[{i}]";
            var l = gw.Listeners[i];
            if (!TryParseListener(l.Url, out var uri, out var error))
            {
                errors.Add(new ConfigError($"{path}.url", error!));
            }
            else
            {
                // Two listeners on one address and port cannot both bind; say so now rather than at start.
                // Port 0 asks the OS for a free port each time, so those never clash.
                var address = $"{uri!.Host}:{uri.Port}";
                if (uri.Port != 0 && !addresses.TryAdd(address, i))
                {
                    errors.Add(new ConfigError($"{path}.url", $"'{l.Url}' listens on the same address and port as gateway.listeners[{addresses[address]}]; remove one or change its port."));
                }

                var https = uri.Scheme == "https";
                if (https && l.Certificate is null)
                {
                    errors.Add(new ConfigError($"{path}.certificate", "an https listener needs 'certificate' with 'certFile' and 'keyFile' (PEM)."));
                }
                else if (!https && l.Certificate is not null)
                {
                    errors.Add(new ConfigError($"{path}.certificate", "a certificate is set on an http listener; use an https url or remove the certificate."));
                }
            }

            CheckCertificateFiles($"{path}.certificate", l.Certificate, errors);
        }

        for (var i = 0; i < gw.TrustedProxies.Count; i++)
        {
            if (CheckProxy(gw.TrustedProxies[i]) is { } error)
            {
                errors.Add(new ConfigError($"gateway.trustedProxies[{i}]", error));
            }
        }

        if (gw.MaxRequestHeadersSize < 1024)
        {
            errors.Add(new ConfigError("gateway.maxRequestHeadersSize", "must be at least 1KB; browsers alone send more."));
        }
    }

    /// <summary>Checks a listener URL: http or https, an IP literal, localhost or '*', a port.</summary>
    public static bool TryParseListenerUrl(string url, out bool https, out string? error)
    {
        var ok = TryParseListener(url, out var uri, out error);
        https = ok && uri!.Scheme == "https";
        return ok;
    }

    private static bool TryParseListener(string url, out Uri? uri, out string? error)
    {
        error = null;
        var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out uri) || uri.Scheme is not ("http" or "https"))
        {
            error = $"'{url}' is not a listener address; write http://127.0.0.1:8080 or https://0.0.0.0:8443.";
            uri = null;
            return false;
        }

        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            error = $"'{url}' has a path, query, fragment or user; a listener is only scheme://address:port.";
            return false;
        }

        if (uri.HostNameType == UriHostNameType.Dns && !uri.IsLoopback)
        {
            error = $"'{url}' names host '{uri.Host}'; listen on an IP address, 'localhost' or '*'.";
            return false;
        }

        return true;
    }

    /// <summary>
    /// Checks a trusted proxy entry: an address or CIDR range written out in full. <see cref="IPAddress.TryParse(string?, out IPAddress?)"/>
    /// alone also takes '10' (0.0.0.10), '10.0.0' and '010.0.0.1' (octal: 8.0.0.1), so a typo would silently trust
    /// some other address; IPv4 addresses must therefore read back exactly as written, and a range must not have
    /// bits set past its prefix.
    /// </summary>
    private static string? CheckProxy(string entry)
    {
        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        var text = slash < 0 ? entry : entry[..slash];
        if (!IPAddress.TryParse(text, out var address) || (address.AddressFamily == AddressFamily.InterNetwork && address.ToString() != text))
        {
            return $"'{entry}' is not an IP address or CIDR range; write an address such as '192.168.1.7' or a range such as '10.0.0.0/8'.";
        }

        if (slash < 0)
        {
            return null;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (!int.TryParse(entry.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            return $"'{entry}' has a bad prefix length; write 0 to {bits} after the '/', as in '10.0.0.0/8'.";
        }

        // IPNetwork.Parse would quietly widen '10.1.2.3/8' to all of 10.0.0.0/8; the writer may have meant one host.
        var network = Network(address, prefix);
        return network.Equals(address)
            ? null
            : $"'{entry}' has address bits set past its /{prefix} prefix; write '{network}/{prefix}' for the range, or drop '/{prefix}' for the one address.";
    }

    private static IPAddress Network(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }

    private static void ValidateService(string path, ServiceConfig s, List<ConfigError> errors)
    {
        if (s.Targets.Count == 0)
        {
            errors.Add(new ConfigError($"{path}.targets", "a service needs at least one target, e.g. 'http://127.0.0.1:5001'."));
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var anyHttps = false;
        for (var i = 0; i < s.Targets.Count; i++)
        {
            var tp = $"{path}.targets[{i}].url";
            var url = s.Targets[i].Url;
            if (!TryParseTargetUrl(url, out var uri, out var error))
            {
                errors.Add(new ConfigError(tp, error!));
                continue;
            }

            anyHttps |= uri!.Scheme == "https";
            if (!seen.Add(uri.GetLeftPart(UriPartial.Path).TrimEnd('/')))
            {
                errors.Add(new ConfigError(tp, $"'{url}' is listed twice; use 'weight' to send it more traffic."));
            }
        }

        if (s.Tls is not null)
        {
            if (!anyHttps && s.Targets.Count > 0)
            {
                errors.Add(new ConfigError($"{path}.tls", "tls is set but no target uses https; use https target urls or remove 'tls'."));
            }

            if (s.Tls.CaFile is { } ca && !File.Exists(ca))
            {
                errors.Add(new ConfigError($"{path}.tls.caFile", $"file '{ca}' does not exist."));
            }

            CheckCertificateFiles($"{path}.tls.clientCertificate", s.Tls.ClientCertificate, errors);
        }

        if (s.HealthCheck?.Active is { } active)
        {
            if (!active.Path.StartsWith('/'))
            {
                errors.Add(new ConfigError($"{path}.healthCheck.active.path", $"'{active.Path}' must start with '/'."));
            }

            if (active.Timeout > active.Interval)
            {
                errors.Add(new ConfigError($"{path}.healthCheck.active.timeout",
                    $"the probe timeout ({Units.FormatDuration(active.Timeout)}) is longer than the interval ({Units.FormatDuration(active.Interval)}); make it shorter."));
            }
        }
    }

    /// <summary>Checks a target URL: absolute http(s), a host, a port that can be connected to, no query or user.</summary>
    public static bool TryParseTargetUrl(string url, out Uri? uri, out string? error)
    {
        error = null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            error = $"'{url}' is not a target address; write http://HOST:PORT or https://HOST:PORT.";
            uri = null;
            return false;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            error = $"'{url}' has a query, fragment or user info; a target is scheme://host:port with an optional base path.";
            return false;
        }

        if (uri.Port == 0)
        {
            error = $"'{url}' uses port 0, which can never be connected to; give the port the service listens on.";
            return false;
        }

        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
        {
            error = $"'{url}' is an unspecified address ('{uri.Host}'), which can never be connected to; use the service's real address.";
            return false;
        }

        return true;
    }

    private static void ValidateRoutes(GatehouseConfig config, IReadOnlySet<string>? brokenServices, List<ConfigError> errors)
    {
        var shapes = new Dictionary<string, List<(string Id, bool EveryMethod, IReadOnlyList<string> Methods)>>(StringComparer.Ordinal);
        foreach (var (id, route) in config.Routes)
        {
            var path = $"routes.{id}";
            var template = PathTemplate.TryParse(route.Path, out var pathError);
            if (template is null)
            {
                errors.Add(new ConfigError($"{path}.path", pathError!));
            }

            var methods = new List<string>();
            for (var i = 0; i < route.Methods.Count; i++)
            {
                var m = route.Methods[i].ToUpperInvariant();
                if (Array.IndexOf(KnownMethods, m) < 0)
                {
                    errors.Add(new ConfigError($"{path}.methods[{i}]", $"'{route.Methods[i]}' is not an HTTP method; use one of {string.Join(", ", KnownMethods)}."));
                }
                else if (methods.Contains(m))
                {
                    errors.Add(new ConfigError($"{path}.methods[{i}]", $"'{m}' is listed twice."));
                }
                else
                {
                    methods.Add(m);
                }
            }

            if (route.Host is { } host && !IsHostPattern(host))
            {
                errors.Add(new ConfigError($"{path}.host", $"'{host}' is not a host name; write 'api.example.com' or '*.example.com' (no scheme, port or path)."));
            }

            if (!config.Services.ContainsKey(route.Service) && brokenServices?.Contains(route.Service) != true)
            {
                var hint = YamlBinder.Suggest(route.Service, config.Services.Keys);
                errors.Add(new ConfigError($"{path}.service", hint is null
                    ? $"service '{route.Service}' is not defined; define it under 'services' or fix the name."
                    : $"service '{route.Service}' is not defined; did you mean '{hint}'?"));
            }

            if (template is not null && route.UpstreamPath is { } upstream)
            {
                ValidateUpstreamPath($"{path}.upstreamPath", template, upstream, errors);
            }

            if (template is not null)
            {
                var key = (route.Host?.ToLowerInvariant() ?? "*") + " " + template.ShapeKey;
                if (!shapes.TryGetValue(key, out var same))
                {
                    shapes[key] = same = [];
                }

                // Only a route that lists no methods serves every method; one whose methods are all
                // misspelt has already been reported and must not also collide with its neighbours.
                var everyMethod = route.Methods.Count == 0;
                foreach (var (otherId, otherEveryMethod, otherMethods) in same)
                {
                    if (everyMethod || otherEveryMethod || methods.Intersect(otherMethods).Any())
                    {
                        errors.Add(new ConfigError($"{path}.path", $"route '{id}' matches the same requests as route '{otherId}' ({route.Path}); change the path, host or methods of one of them."));
                        break;
                    }
                }

                same.Add((id, everyMethod, methods));
            }
        }
    }

    private static void ValidateUpstreamPath(string path, PathTemplate route, string upstream, List<ConfigError> errors)
    {
        var template = PathTemplate.TryParse(upstream, out var error);
        if (template is null)
        {
            errors.Add(new ConfigError(path, error!));
            return;
        }

        var routeParams = route.Segments.Where(s => s.Kind != SegmentKind.Literal).ToDictionary(s => s.Value, s => s.Kind, StringComparer.OrdinalIgnoreCase);
        foreach (var seg in template.Segments)
        {
            if (seg.Kind == SegmentKind.Literal)
            {
                continue;
            }

            if (!routeParams.TryGetValue(seg.Value, out var kind))
            {
                errors.Add(new ConfigError(path, $"parameter '{seg.Value}' is not in the route's path '{route.Text}'; use one of its parameters."));
            }
            else if (kind != seg.Kind)
            {
                errors.Add(new ConfigError(path, kind == SegmentKind.CatchAll
                    ? $"'{seg.Value}' is a catch-all in the route; write it as '{{**{seg.Value}}}' here too."
                    : $"'{seg.Value}' is a single segment in the route; write it as '{{{seg.Value}}}' here."));
            }
        }
    }

    private static bool IsHostPattern(string host)
    {
        var h = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return h.Length > 0 && Uri.CheckHostName(h) is UriHostNameType.Dns or UriHostNameType.IPv4 && !h.Contains(':');
    }

    private static void CheckCertificateFiles(string path, CertificateConfig? cert, List<ConfigError> errors)
    {
        if (cert is null)
        {
            return;
        }

        if (!File.Exists(cert.CertFile))
        {
            errors.Add(new ConfigError($"{path}.certFile", $"file '{cert.CertFile}' does not exist."));
        }

        if (!File.Exists(cert.KeyFile))
        {
            errors.Add(new ConfigError($"{path}.keyFile", $"file '{cert.KeyFile}' does not exist."));
        }
    }
}
