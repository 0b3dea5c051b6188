using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>Binds a parsed YAML/JSON document to <see cref="GatehouseConfig"/>, reporting every type and key error.</summary>
internal sealed class ConfigReader(YamlBinder b, string baseDirectory)
{
    private readonly HashSet<string> _brokenServices = new(StringComparer.Ordinal);
    private readonly OperationsReader _operations = new(b, baseDirectory);
    private readonly AccessReader _access = new(b);
    private readonly CompositionReader _compositions = new(b);

    /// <summary>Declared operations and source lines of each service's operation keys.</summary>
    public IReadOnlyDictionary<string, ServiceOperationSyntax> OperationSyntax => _operations.Services;

    /// <summary>Services written in the document whose definition could not be bound (the error is already reported).</summary>
    public IReadOnlySet<string> BrokenServices => _brokenServices;

    /// <summary>The top-level keys of a config document.</summary>
    public static readonly string[] Sections = ["version", "gateway", "services", "routes", "plans", "accounts", "applications", "compositions"];

    public GatehouseConfig? ReadRoot(YamlNode root)
    {
        var map = b.Mapping(root, "", Sections);
        if (map is null)
        {
            return null;
        }

        var config = new GatehouseConfig();
        if (!map.TryGetValue("version", out var versionNode))
        {
            b.Error("version", root, $"the document has no 'version'; add 'version: {GatehouseConfig.CurrentVersion}' at the top.");
        }
        else if (b.Int(versionNode, "version") is { } version)
        {
            if (version != GatehouseConfig.CurrentVersion)
            {
                b.Error("version", versionNode, $"version {version} is not supported by this build; it reads version {GatehouseConfig.CurrentVersion}.");
            }

            config = config with { Version = version };
        }

        if (map.TryGetValue("gateway", out var gw))
        {
            config = config with { Gateway = ReadGateway(gw, "gateway") };
        }

        if (map.TryGetValue("services", out var services))
        {
            var dict = new Dictionary<string, ServiceConfig>(StringComparer.Ordinal);
            foreach (var (name, node, path) in b.NamedEntries(services, "services"))
            {
                if (ReadService(name, node, path) is { } s)
                {
                    dict[name] = s;
                }
                else
                {
                    _brokenServices.Add(name);
                }
            }

            config = config with { Services = dict };
        }

        if (map.TryGetValue("routes", out var routes))
        {
            var dict = new Dictionary<string, RouteConfig>(StringComparer.Ordinal);
            foreach (var (name, node, path) in b.NamedEntries(routes, "routes"))
            {
                if (ReadRoute(node, path) is { } r)
                {
                    dict[name] = r;
                }
            }

            config = config with { Routes = dict };
        }

        if (map.TryGetValue("plans", out var plans))
        {
            config = config with { Plans = _access.ReadPlans(plans, "plans") };
        }

        if (map.TryGetValue("accounts", out var accounts))
        {
            config = config with { Accounts = _access.ReadAccounts(accounts, "accounts") };
        }

        if (map.TryGetValue("applications", out var applications))
        {
            config = config with { Applications = _access.ReadApplications(applications, "applications") };
        }

        if (map.TryGetValue("compositions", out var compositions))
        {
            config = config with { Compositions = _compositions.Read(compositions, "compositions") };
        }

        return config;
    }

    private GatewayConfig ReadGateway(YamlNode node, string path)
    {
        var gw = new GatewayConfig();
        var map = b.Mapping(node, path, "listeners", "trustedProxies", "maxRequestBodySize", "maxRequestHeadersSize", "drainTimeout", "apiKeys", "jwt", "authenticationMode", "serviceApi", "forwardUnderscoreHeaders", "observability");
        if (map is null)
        {
            return gw;
        }

        if (map.TryGetValue("listeners", out var listeners))
        {
            var list = new List<ListenerConfig>();
            foreach (var (item, itemPath) in b.Sequence(listeners, YamlBinder.Join(path, "listeners")))
            {
                if (ReadListener(item, itemPath) is { } l)
                {
                    list.Add(l);
                }
            }

            gw = gw with { Listeners = list };
        }

        if (map.TryGetValue("trustedProxies", out var proxies))
        {
            gw = gw with { TrustedProxies = b.StringList(proxies, YamlBinder.Join(path, "trustedProxies")) };
        }

        if (map.TryGetValue("maxRequestBodySize", out var body) && b.Size(body, YamlBinder.Join(path, "maxRequestBodySize")) is { } bodySize)
        {
            gw = gw with { MaxRequestBodySize = bodySize };
        }

        if (map.TryGetValue("maxRequestHeadersSize", out var headers) && b.Size(headers, YamlBinder.Join(path, "maxRequestHeadersSize")) is { } headerSize)
        {
            if (headerSize > int.MaxValue)
            {
                b.Error(YamlBinder.Join(path, "maxRequestHeadersSize"), headers, "must be under 2GB.");
            }
            else
            {
                gw = gw with { MaxRequestHeadersSize = (int)headerSize };
            }
        }

        if (map.TryGetValue("forwardUnderscoreHeaders", out var underscores) && b.Bool(underscores, YamlBinder.Join(path, "forwardUnderscoreHeaders")) is { } forwardUnderscores)
        {
            gw = gw with { ForwardUnderscoreHeaders = forwardUnderscores };
        }

        if (map.TryGetValue("drainTimeout", out var drain) && b.Duration(drain, YamlBinder.Join(path, "drainTimeout")) is { } drainTimeout)
        {
            gw = gw with { DrainTimeout = drainTimeout };
        }

        if (map.TryGetValue("apiKeys", out var apiKeys) && b.Mapping(apiKeys, YamlBinder.Join(path, "apiKeys"), "header", "queryParameter") is { } keysMap)
        {
            var keys = new ApiKeysConfig();
            if (keysMap.ContainsKey("header") && b.Required(keysMap, "header", YamlBinder.Join(path, "apiKeys"), apiKeys) is { } header)
            {
                keys = keys with { Header = header };
            }

            if (keysMap.ContainsKey("queryParameter") && b.Required(keysMap, "queryParameter", YamlBinder.Join(path, "apiKeys"), apiKeys) is { } query)
            {
                keys = keys with { QueryParameter = query };
            }

            gw = gw with { ApiKeys = keys };
        }

        if (map.TryGetValue("jwt", out var jwt) && b.Mapping(jwt, YamlBinder.Join(path, "jwt"), "issuers") is { } jwtMap
            && jwtMap.TryGetValue("issuers", out var issuers))
        {
            var dict = new Dictionary<string, JwtIssuerConfig>(StringComparer.Ordinal);
            foreach (var (name, issuerNode, issuerPath) in b.NamedEntries(issuers, YamlBinder.Join(path, "jwt.issuers")))
            {
                if (ReadJwtIssuer(issuerNode, issuerPath) is { } issuer)
                {
                    dict[name] = issuer;
                }
            }

            gw = gw with { Jwt = new JwtConfig { Issuers = dict } };
        }

        if (map.TryGetValue("authenticationMode", out var authMode) && b.Enum<EnforcementMode>(authMode, YamlBinder.Join(path, "authenticationMode")) is { } mode)
        {
            gw = gw with { AuthenticationMode = mode };
        }

        if (map.TryGetValue("serviceApi", out var serviceApi))
        {
            var apiPath = YamlBinder.Join(path, "serviceApi");
            if (b.Mapping(serviceApi, apiPath, "url", "tokenSha256") is { } apiMap && b.Required(apiMap, "url", apiPath, serviceApi) is { } url)
            {
                var api = new ServiceApiConfig { Url = url };
                if (apiMap.TryGetValue("tokenSha256", out var tokens))
                {
                    api = api with { TokenSha256 = b.OneOrMany(tokens, YamlBinder.Join(apiPath, "tokenSha256")) };
                }

                gw = gw with { ServiceApi = api };
            }
        }

        if (map.TryGetValue("observability", out var observability))
        {
            gw = gw with { Observability = new ObservabilityReader(b, baseDirectory).Read(observability, YamlBinder.Join(path, "observability")) };
        }

        return gw;
    }

    private ListenerConfig? ReadListener(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "url", "protocols", "certificate");
        if (map is null)
        {
            return null;
        }

        var url = b.Required(map, "url", path, node);
        if (url is null)
        {
            return null;
        }

        var listener = new ListenerConfig { Url = url };
        if (map.TryGetValue("protocols", out var p) && b.Enum<ListenerProtocols>(p, YamlBinder.Join(path, "protocols")) is { } protocols)
        {
            listener = listener with { Protocols = protocols };
        }

        if (map.TryGetValue("certificate", out var cert))
        {
            listener = listener with { Certificate = ReadCertificate(cert, YamlBinder.Join(path, "certificate")) };
        }

        return listener;
    }

    private CertificateConfig? ReadCertificate(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "certFile", "keyFile");
        if (map is null)
        {
            return null;
        }

        var cert = b.Required(map, "certFile", path, node);
        var key = b.Required(map, "keyFile", path, node);
        return cert is null || key is null ? null : new CertificateConfig { CertFile = FullPath(cert), KeyFile = FullPath(key) };
    }

    private ServiceConfig? ReadService(string name, YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "targets", "loadBalancing", "timeout", "connectTimeout", "protocol", "tls", "healthCheck", "dnsRefresh", "maxConnectionsPerTarget", "openapi", "operations", "publish", "registration", "credential");
        if (map is null)
        {
            return null;
        }

        var s = new ServiceConfig();
        if (map.TryGetValue("targets", out var targets))
        {
            var list = new List<TargetConfig>();
            foreach (var (item, itemPath) in b.Sequence(targets, YamlBinder.Join(path, "targets")))
            {
                if (ReadTarget(item, itemPath) is { } t)
                {
                    list.Add(t);
                }
            }

            s = s with { Targets = list };
        }
        else if (!map.ContainsKey("registration"))
        {
            b.Error(YamlBinder.Join(path, "targets"), node, "a service needs 'targets', e.g. 'targets: [http://127.0.0.1:5001]', or 'registration' for instances that register themselves.");
        }

        if (map.TryGetValue("registration", out var registration))
        {
            s = s with { Registration = ReadRegistration(registration, YamlBinder.Join(path, "registration")) };
        }

        if (map.TryGetValue("credential", out var credential))
        {
            s = s with { Credential = ReadCredential(credential, YamlBinder.Join(path, "credential")) };
        }

        if (map.TryGetValue("loadBalancing", out var lb) && b.Enum<LoadBalancingPolicy>(lb, YamlBinder.Join(path, "loadBalancing")) is { } policy)
        {
            s = s with { LoadBalancing = policy };
        }

        if (map.TryGetValue("timeout", out var t1) && b.Duration(t1, YamlBinder.Join(path, "timeout")) is { } timeout)
        {
            s = s with { Timeout = timeout };
        }

        if (map.TryGetValue("connectTimeout", out var t2) && b.Duration(t2, YamlBinder.Join(path, "connectTimeout")) is { } connectTimeout)
        {
            s = s with { ConnectTimeout = connectTimeout };
        }

        if (map.TryGetValue("protocol", out var proto) && b.Enum<UpstreamProtocol>(proto, YamlBinder.Join(path, "protocol")) is { } protocol)
        {
            s = s with { Protocol = protocol };
        }

        if (map.TryGetValue("tls", out var tls))
        {
            s = s with { Tls = ReadUpstreamTls(tls, YamlBinder.Join(path, "tls")) };
        }

        if (map.TryGetValue("healthCheck", out var hc))
        {
            s = s with { HealthCheck = ReadHealthCheck(hc, YamlBinder.Join(path, "healthCheck")) };
        }

        if (map.TryGetValue("dnsRefresh", out var dns) && b.Duration(dns, YamlBinder.Join(path, "dnsRefresh")) is { } dnsRefresh)
        {
            s = s with { DnsRefresh = dnsRefresh };
        }

        if (map.TryGetValue("maxConnectionsPerTarget", out var mc) && b.Int(mc, YamlBinder.Join(path, "maxConnectionsPerTarget"), 1) is { } max)
        {
            s = s with { MaxConnectionsPerTarget = max };
        }

        return _operations.Read(name, map, path, s);
    }

    private RegistrationConfig? ReadRegistration(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "tokenSha256", "ttl", "maxTtl", "allowedNetworks");
        if (map is null)
        {
            return null;
        }

        var r = new RegistrationConfig();
        if (map.TryGetValue("tokenSha256", out var tokens))
        {
            r = r with { TokenSha256 = b.OneOrMany(tokens, YamlBinder.Join(path, "tokenSha256")) };
        }

        if (map.TryGetValue("ttl", out var ttlNode) && b.Duration(ttlNode, YamlBinder.Join(path, "ttl")) is { } ttl)
        {
            r = r with { Ttl = ttl };
        }

        if (map.TryGetValue("maxTtl", out var maxNode) && b.Duration(maxNode, YamlBinder.Join(path, "maxTtl")) is { } maxTtl)
        {
            r = r with { MaxTtl = maxTtl };
        }

        if (map.TryGetValue("allowedNetworks", out var networks))
        {
            r = r with { AllowedNetworks = b.OneOrMany(networks, YamlBinder.Join(path, "allowedNetworks")) };
        }

        return r;
    }

    /// <summary>Headers a service credential may not go in: the gateway writes or drops them itself.</summary>
    private static readonly string[] ReservedCredentialHeaders =
    [
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
        "Content-Length", "Content-Type", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Request-Id",
        "Accept", "Gatehouse-Application", "Gatehouse-Plan",
    ];

    private ServiceCredentialConfig? ReadCredential(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "header", "prefix", "env");
        if (map is null)
        {
            return null;
        }

        var ok = true;
        var credential = new ServiceCredentialConfig { Env = "" };
        if (map.TryGetValue("header", out var h) && b.String(h, YamlBinder.Join(path, "header")) is { } header)
        {
            if (!Validation.ConfigValidator.IsToken(header))
            {
                b.Error(YamlBinder.Join(path, "header"), h, $"'{header}' is not a header name; use letters, digits and '-', e.g. 'Authorization'.");
                ok = false;
            }
            else if (ReservedCredentialHeaders.Contains(header, StringComparer.OrdinalIgnoreCase) || header.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                b.Error(YamlBinder.Join(path, "header"), h, $"the gateway sets or drops '{header}' itself; put the credential in a header of its own, e.g. 'Authorization'.");
                ok = false;
            }

            credential = credential with { Header = header };
        }

        if (map.TryGetValue("prefix", out var p) && b.String(p, YamlBinder.Join(path, "prefix")) is { } prefix)
        {
            credential = credential with { Prefix = prefix };
        }

        var envPath = YamlBinder.Join(path, "env");
        if (!map.TryGetValue("env", out var envNode))
        {
            b.Error(envPath, node, "'env' is required: the environment variable that holds the credential on each gateway node, e.g. 'env: ORDERS_TOKEN'.");
            return null;
        }

        // Read as written, without ${…} substitution: a reference here would put the secret itself into the config.
        // The value is not echoed in errors, in case it is one.
        if (envNode is not YamlScalarNode { Value: { } env } || !EnvironmentReferences.IsVariableName(env))
        {
            b.Error(envPath, envNode, "not an environment variable name; write the variable's name (letters, digits and '_'), e.g. 'ORDERS_TOKEN', not its value and not ${…}.");
            return null;
        }

        if (!b.ReadsSecrets)
        {
            return ok ? credential with { Env = env } : null;
        }

        // Read here, on the node loading the config: files and stored revisions hold only the variable's name.
        var secret = b.Variable(env);
        var value = credential.Prefix + secret;
        if (string.IsNullOrEmpty(secret))
        {
            b.Error(envPath, envNode, $"environment variable '{env}' is not set on this node; set it to the service's credential where the gateway runs.");
            ok = false;
        }
        else if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            b.Error(envPath, envNode, $"the credential (prefix and environment variable '{env}') holds a CR, LF or NUL, which cannot go in a header; remove it.");
            ok = false;
        }

        return ok ? credential with { Env = env, Value = value } : null;
    }

    private TargetConfig? ReadTarget(YamlNode node, string path)
    {
        // Shorthand: a target may be written as just its URL.
        if (node is YamlScalarNode)
        {
            return b.String(node, path) is { } u ? new TargetConfig { Url = u } : null;
        }

        var map = b.Mapping(node, path, "url", "weight");
        if (map is null)
        {
            return null;
        }

        var url = b.Required(map, "url", path, node);
        if (url is null)
        {
            return null;
        }

        var target = new TargetConfig { Url = url };
        if (map.TryGetValue("weight", out var w) && b.Int(w, YamlBinder.Join(path, "weight"), 1) is { } weight)
        {
            target = target with { Weight = weight };
        }

        return target;
    }

    private UpstreamTlsConfig? ReadUpstreamTls(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "caFile", "clientCertificate");
        if (map is null)
        {
            return null;
        }

        var tls = new UpstreamTlsConfig();
        if (map.TryGetValue("caFile", out var ca) && b.String(ca, YamlBinder.Join(path, "caFile")) is { } caFile)
        {
            tls = tls with { CaFile = FullPath(caFile) };
        }

        if (map.TryGetValue("clientCertificate", out var cc))
        {
            tls = tls with { ClientCertificate = ReadCertificate(cc, YamlBinder.Join(path, "clientCertificate")) };
        }

        return tls;
    }

    private HealthCheckConfig? ReadHealthCheck(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "active", "passive");
        if (map is null)
        {
            return null;
        }

        var hc = new HealthCheckConfig();
        if (map.TryGetValue("active", out var activeNode))
        {
            var ap = YamlBinder.Join(path, "active");
            var am = b.Mapping(activeNode, ap, "path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold");
            if (am is not null)
            {
                var a = new ActiveHealthCheckConfig();
                if (am.TryGetValue("path", out var p) && b.String(p, YamlBinder.Join(ap, "path")) is { } probePath)
                {
                    a = a with { Path = probePath };
                }

                if (am.TryGetValue("interval", out var i) && b.Duration(i, YamlBinder.Join(ap, "interval")) is { } interval)
                {
                    a = a with { Interval = interval };
                }

                if (am.TryGetValue("timeout", out var t) && b.Duration(t, YamlBinder.Join(ap, "timeout")) is { } timeout)
                {
                    a = a with { Timeout = timeout };
                }

                if (am.TryGetValue("healthyThreshold", out var h) && b.Int(h, YamlBinder.Join(ap, "healthyThreshold"), 1) is { } healthy)
                {
                    a = a with { HealthyThreshold = healthy };
                }

                if (am.TryGetValue("unhealthyThreshold", out var u) && b.Int(u, YamlBinder.Join(ap, "unhealthyThreshold"), 1) is { } unhealthy)
                {
                    a = a with { UnhealthyThreshold = unhealthy };
                }

                hc = hc with { Active = a };
            }
        }

        if (map.TryGetValue("passive", out var passiveNode))
        {
            var pp = YamlBinder.Join(path, "passive");
            var pm = b.Mapping(passiveNode, pp, "consecutiveFailures", "cooldown");
            if (pm is not null)
            {
                var p = new PassiveHealthCheckConfig();
                if (pm.TryGetValue("consecutiveFailures", out var f) && b.Int(f, YamlBinder.Join(pp, "consecutiveFailures"), 1) is { } failures)
                {
                    p = p with { ConsecutiveFailures = failures };
                }

                if (pm.TryGetValue("cooldown", out var c) && b.Duration(c, YamlBinder.Join(pp, "cooldown")) is { } cooldown)
                {
                    p = p with { Cooldown = cooldown };
                }

                hc = hc with { Passive = p };
            }
        }

        return hc;
    }

    private RouteConfig? ReadRoute(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "methods", "path", "host", "service", "operation", "upstreamPath", "timeout", "apiKeyInQuery", "forwardCredential", "upgrades");
        if (map is null)
        {
            return null;
        }

        RouteConfig route;
        if (map.ContainsKey("operation"))
        {
            // Bound to an operation: service, methods and upstream path are the operation's, so writing them too
            // would be a second, possibly contradicting, source of truth.
            var operation = b.Required(map, "operation", path, node);
            if (operation is null)
            {
                return null;
            }

            foreach (var key in new[] { "service", "methods", "upstreamPath" })
            {
                if (map.TryGetValue(key, out var extra))
                {
                    b.Error(YamlBinder.Join(path, key), extra, $"'{key}' comes from operation '{operation}' for a route bound to it; remove '{key}', or bind the route to 'service' instead of 'operation'.");
                }
            }

            route = new RouteConfig { Operation = operation };
            if (map.ContainsKey("path"))
            {
                var boundPath = b.Required(map, "path", path, node);
                if (boundPath is null)
                {
                    return null;
                }

                route = route with { Path = boundPath };
            }
        }
        else
        {
            var routePath = b.Required(map, "path", path, node);
            string? service = null;
            if (map.ContainsKey("service"))
            {
                service = b.Required(map, "service", path, node);
            }
            else
            {
                b.Error(YamlBinder.Join(path, "service"), node, "'service' is required: the service that serves the route; or give 'operation' instead, the id of the operation it serves.");
            }

            if (routePath is null || service is null)
            {
                return null;
            }

            route = new RouteConfig { Path = routePath, Service = service };
            if (map.TryGetValue("methods", out var methods))
            {
                route = route with { Methods = methods is YamlScalarNode ? b.String(methods, YamlBinder.Join(path, "methods")) is { } one ? [one] : [] : b.StringList(methods, YamlBinder.Join(path, "methods")) };
            }

            if (map.TryGetValue("upstreamPath", out var up) && b.String(up, YamlBinder.Join(path, "upstreamPath")) is { } upstreamPath)
            {
                route = route with { UpstreamPath = upstreamPath };
            }
        }

        if (map.TryGetValue("host", out var host) && b.String(host, YamlBinder.Join(path, "host")) is { } h)
        {
            route = route with { Host = h };
        }

        if (map.TryGetValue("timeout", out var t) && b.Duration(t, YamlBinder.Join(path, "timeout")) is { } timeout)
        {
            route = route with { Timeout = timeout };
        }

        if (map.TryGetValue("apiKeyInQuery", out var inQuery) && b.Bool(inQuery, YamlBinder.Join(path, "apiKeyInQuery")) is { } q)
        {
            route = route with { ApiKeyInQuery = q };
        }

        if (map.TryGetValue("forwardCredential", out var forward) && b.Bool(forward, YamlBinder.Join(path, "forwardCredential")) is { } f)
        {
            route = route with { ForwardCredential = f };
        }

        if (map.TryGetValue("upgrades", out var upgrades))
        {
            route = route with { Upgrades = b.StringList(upgrades, YamlBinder.Join(path, "upgrades")) };
        }

        return route;
    }

    private JwtIssuerConfig? ReadJwtIssuer(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "issuer", "audiences", "jwksFile", "jwksUrl", "algorithms", "clockSkew", "jwksRefresh", "applicationClaim");
        if (map is null)
        {
            return null;
        }

        var issuer = b.Required(map, "issuer", path, node);
        if (issuer is null)
        {
            return null;
        }

        var config = new JwtIssuerConfig { Issuer = issuer };
        if (map.TryGetValue("audiences", out var audiences))
        {
            config = config with { Audiences = audiences is YamlScalarNode ? b.String(audiences, YamlBinder.Join(path, "audiences")) is { } one ? [one] : [] : b.StringList(audiences, YamlBinder.Join(path, "audiences")) };
        }

        if (map.TryGetValue("jwksFile", out var file) && b.String(file, YamlBinder.Join(path, "jwksFile")) is { } jwksFile)
        {
            config = config with { JwksFile = jwksFile.Length == 0 ? jwksFile : FullPath(jwksFile) };
        }

        if (map.TryGetValue("jwksUrl", out var url) && b.String(url, YamlBinder.Join(path, "jwksUrl")) is { } jwksUrl)
        {
            config = config with { JwksUrl = jwksUrl };
        }

        if (map.TryGetValue("algorithms", out var algorithms))
        {
            config = config with { Algorithms = algorithms is YamlScalarNode ? b.String(algorithms, YamlBinder.Join(path, "algorithms")) is { } one ? [one] : [] : b.StringList(algorithms, YamlBinder.Join(path, "algorithms")) };
        }

        if (map.TryGetValue("clockSkew", out var skewNode) && b.String(skewNode, YamlBinder.Join(path, "clockSkew")) is { } skewText)
        {
            // Not b.Duration: zero is a meaningful skew ("our clocks agree"), and Duration requires a positive value.
            if (Units.TryParseDuration(skewText, out var skew))
            {
                config = config with { ClockSkew = skew };
            }
            else
            {
                b.Error(YamlBinder.Join(path, "clockSkew"), skewNode, $"expected a duration such as '0s', '30s' or '2m'; found '{skewText}'.");
            }
        }

        if (map.TryGetValue("jwksRefresh", out var refreshNode) && b.Duration(refreshNode, YamlBinder.Join(path, "jwksRefresh")) is { } refresh)
        {
            config = config with { JwksRefresh = refresh };
        }

        if (map.ContainsKey("applicationClaim"))
        {
            config = config with { ApplicationClaim = b.Required(map, "applicationClaim", path, node) };
        }

        return config;
    }

    private string FullPath(string file) => Path.GetFullPath(file, baseDirectory);
}
