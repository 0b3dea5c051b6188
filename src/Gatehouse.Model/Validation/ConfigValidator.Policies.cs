using Gatehouse.Model.Access;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Policies;
using Gatehouse.Model.Routing;
using Gatehouse.Model.Text;

namespace Gatehouse.Model.Validation;

/// <summary>Policy checks: CORS origins, IP lists, cache keys, transform headers and values, validation's operation.</summary>
public static partial class ConfigValidator
{
    private static void CheckClientCertificate(string at, string application, ClientCertificateConfig certificate, Dictionary<string, string> seen, List<ConfigError> errors)
    {
        string key;
        if (certificate.Thumbprint is { } thumbprint)
        {
            if (certificate.Subject is not null || certificate.Issuer is not null)
            {
                errors.Add(new ConfigError(at, "write either 'thumbprint', or 'subject' and 'issuer', not both."));
                return;
            }

            if (ClientCertificateNames.NormalizeThumbprint(thumbprint) is not { } normal)
            {
                errors.Add(new ConfigError($"{at}.thumbprint", "expected a SHA-256 thumbprint: 64 hex characters, colons allowed (openssl x509 -noout -fingerprint -sha256 -in client.pem)."));
                return;
            }

            key = "thumbprint " + normal;
        }
        else if (certificate.Subject is null || certificate.Issuer is null)
        {
            errors.Add(new ConfigError(at, "write a 'thumbprint', or both 'subject' and 'issuer' (distinguished names such as 'CN=erp, O=Acme')."));
            return;
        }
        else
        {
            var subject = ClientCertificateNames.NormalizeName(certificate.Subject);
            var issuer = ClientCertificateNames.NormalizeName(certificate.Issuer);
            if (subject is null)
            {
                errors.Add(new ConfigError($"{at}.subject", $"'{certificate.Subject}' is not a distinguished name; write e.g. 'CN=erp, O=Acme'."));
            }

            if (issuer is null)
            {
                errors.Add(new ConfigError($"{at}.issuer", $"'{certificate.Issuer}' is not a distinguished name; write e.g. 'CN=Acme Clients CA'."));
            }

            if (subject is null || issuer is null)
            {
                return;
            }

            key = "subject " + subject + "\n" + issuer;
        }

        if (!seen.TryAdd(key, application))
        {
            errors.Add(new ConfigError(at, $"this certificate is already one of application '{seen[key]}'; a certificate authenticates one application."));
        }
    }

    private static void ValidatePolicies(GatehouseConfig config, OperationIndex operations, List<ConfigError> errors)
    {
        var gw = config.Gateway;
        if (gw.Introspection is { } introspection && !Operations.OpenApiSources.IsUrl(introspection.Url))
        {
            errors.Add(new ConfigError("gateway.introspection.url", $"'{introspection.Url}' is not an http or https URL; write the endpoint, e.g. 'https://auth.example.com/oauth2/introspect'."));
        }

        if (gw.PortalOrigin is { } portal && !CorsOrigin.TryRead(portal, out _))
        {
            errors.Add(new ConfigError("gateway.portalOrigin", $"'{portal}' is not an origin; write scheme://host[:port] with no path, e.g. 'http://127.0.0.1:8083'."));
        }

        foreach (var (name, service) in config.Services)
        {
            if (service.Policies is { } p)
            {
                ValidatePolicyBlock($"services.{name}.policies", p, config, service, route: null, operation: null, errors);
            }
        }

        // Routes whose CORS allows credentials, with where that CORS is written: a plan's '*' may not reach them.
        var credentialed = new List<(string Id, RouteConfig Route, string Cors)>();
        foreach (var (id, route) in config.Routes)
        {
            var service = route.Service is { } s ? config.Services.GetValueOrDefault(s) : null;
            OperationConfig? operation = null;
            string? opService = null;
            if (route.Operation is { } opId && operations.TryGet(opId, out opService, out var op))
            {
                operation = op;
                service ??= config.Services.GetValueOrDefault(opService);
            }

            if (route.Policies is { } own)
            {
                ValidatePolicyBlock($"routes.{id}.policies", own, config, service, route, operation, errors);
            }

            // Checks that depend on the route as well as the policy: for a service default, reported at the route.
            if (EffectivePolicies.Of(service?.Policies, route.Policies) is not { } effective)
            {
                continue;
            }

            var where = route.Policies is null ? $"routes.{id}" : $"routes.{id}.policies";
            if (effective.Cors is { Credentials: true })
            {
                credentialed.Add((id, route, route.Policies?.Cors is not null ? $"{where}.cors" : $"services.{route.Service ?? opService}.policies.cors"));
            }

            if (effective.Validate is not null && route.Operation is null)
            {
                errors.Add(new ConfigError(route.Policies?.Validate is null ? where : $"{where}.validate",
                    "'validate' checks requests against the OpenAPI schemas of the route's operation; bind the route to an 'operation', or switch validation off on it (validate: { request: off })."));
            }

            var methods = route.Methods.Count > 0 ? route.Methods : operation is null ? [] : [operation.Method];
            if (effective.Cache is not null && methods.Count > 0 && !methods.Any(m => m.Equals("GET", StringComparison.OrdinalIgnoreCase) || m.Equals("HEAD", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add(new ConfigError(route.Policies?.Cache is null ? where : $"{where}.cache",
                    $"the cache keeps GET and HEAD responses, and this route serves only {string.Join(", ", methods)}; remove 'cache' (or 'enabled: false' for a service default)."));
            }

            if (effective.Cache is { } cache && effective.Transform?.Response?.Body is { } body)
            {
                CheckCachedBody(where, route.Policies?.Transform is not null, "transform.response.body", body, cache, errors);
            }

            if (effective.Cache is { } keyed && effective.Transform?.Request is { } sent)
            {
                CheckCachedRequest(where, route.Policies?.Transform is not null, sent, keyed, errors);
            }

            if (effective.Cache is { Shared: true } && effective.Transform?.Request is { } req && ReadsCaller(req))
            {
                errors.Add(new ConfigError(route.Policies?.Transform is null ? where : $"{where}.transform.request",
                    "a shared cache keeps one answer for every caller, and this request transform sends the service who asked (@request.application or @request.plan), so its answer may depend on it; cache per caller ('shared: false') or drop that value."));
            }
        }

        foreach (var (name, plan) in config.Plans)
        {
            CheckOrigins($"plans.{name}.corsOrigins", plan.CorsOrigins, credentials: false, errors);
            CheckPlanOriginsOnCredentialedRoutes(name, plan, config, credentialed, errors);
            CheckIpFilter($"plans.{name}.ipFilter", plan.IpFilter, errors);
        }

        var usernames = new Dictionary<string, string>(StringComparer.Ordinal);
        var certificates = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, app) in config.Applications)
        {
            CheckIpFilter($"applications.{id}.ipFilter", app.IpFilter, errors);
            for (var i = 0; i < app.Basic.Count; i++)
            {
                var basic = app.Basic[i];
                var at = $"applications.{id}.basic[{i}]";
                if (basic.Username.Contains(':', StringComparison.Ordinal) || basic.Username.Any(char.IsControl))
                {
                    errors.Add(new ConfigError($"{at}.username", "a Basic username cannot hold ':' or control characters; choose another."));
                }
                else if (!usernames.TryAdd(basic.Username, id))
                {
                    errors.Add(new ConfigError($"{at}.username", $"'{basic.Username}' is already a username of application '{usernames[basic.Username]}'; usernames are unique."));
                }

                if (basic.Sha256.Length != 64 || !basic.Sha256.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
                {
                    errors.Add(new ConfigError($"{at}.sha256", "expected the password's SHA-256: 64 lower-case hex characters (printf %s PASSWORD | sha256sum)."));
                }
            }

            for (var i = 0; i < app.Certificates.Count; i++)
            {
                CheckClientCertificate($"applications.{id}.certificates[{i}]", id, app.Certificates[i], certificates, errors);
            }
        }
    }

    private static void ValidatePolicyBlock(string path, PoliciesConfig p, GatehouseConfig config, ServiceConfig? service, RouteConfig? route, OperationConfig? operation, List<ConfigError> errors)
    {
        if (p.Cors is { } cors)
        {
            CheckOrigins($"{path}.cors.origins", cors.Origins, cors.Credentials, errors);
            if (cors.Portal && config.Gateway.PortalOrigin is null)
            {
                errors.Add(new ConfigError($"{path}.cors.portal", "'portal: true' allows the developer portal's origin, and 'gateway.portalOrigin' is not set; set it, or list the origin in 'origins'."));
            }

            if (cors.Enabled && cors.Origins.Count == 0 && !cors.Portal)
            {
                errors.Add(new ConfigError($"{path}.cors.origins", "a CORS policy needs at least one origin (or 'portal: true'); list the origins whose pages may call this route."));
            }

            for (var i = 0; i < cors.Methods.Count; i++)
            {
                if (Array.IndexOf(KnownMethods, cors.Methods[i].ToUpperInvariant()) < 0)
                {
                    errors.Add(new ConfigError($"{path}.cors.methods[{i}]", $"'{cors.Methods[i]}' is not an HTTP method; use one of {string.Join(", ", KnownMethods)}."));
                }
            }

            CheckNames($"{path}.cors.headers", cors.Headers ?? [], errors);
            CheckNames($"{path}.cors.exposeHeaders", cors.ExposeHeaders ?? [], errors);
        }

        CheckIpFilter($"{path}.ipFilter", p.IpFilter, errors);

        if (p.Respond is { } respond)
        {
            if (respond.Status > 599)
            {
                errors.Add(new ConfigError($"{path}.respond.status", $"{respond.Status} is not an HTTP status; write one from 200 to 599."));
            }

            var respondCompiler = new TemplateCompiler([], (at, message) => errors.Add(new ConfigError(at, message)));
            foreach (var (name, value) in respond.Headers)
            {
                if (!IsToken(name))
                {
                    errors.Add(new ConfigError($"{path}.respond.headers.{name}", $"'{name}' is not a header name; use letters, digits and '-'."));
                }
                else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(new ConfigError($"{path}.respond.headers.{name}", $"'{name}' is set by the gateway from the body{(name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) ? "; use 'contentType'" : "")}; remove it."));
                }
                else if (respond.Location is not null && name.Equals("Location", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(new ConfigError($"{path}.respond.headers.{name}", "'location' sets this header; keep one of the two."));
                }
                else
                {
                    CheckValue($"{path}.respond.headers.{name}", value, respondCompiler, header: true, errors);
                }
            }

            if (respond.Location is { } location)
            {
                CheckLocation($"{path}.respond.location", location, respond.Status, route, respondCompiler, errors);
            }
            else if (respond.KeepQuery)
            {
                errors.Add(new ConfigError($"{path}.respond.keepQuery", "'keepQuery' appends the request's query to 'location', and there is none; set 'location' or remove 'keepQuery'."));
            }

            if (respond.ContentType is { } type && !TransformHeaders.IsSafeValue(type))
            {
                errors.Add(new ConfigError($"{path}.respond.contentType", "the value has a character a header cannot carry; write a media type such as 'application/json'."));
            }
        }

        if (p.GrpcWeb is { Enabled: true } && service is { Protocol: not UpstreamProtocol.Http2 })
        {
            errors.Add(new ConfigError($"{path}.grpcWeb", "gRPC-Web calls go to the service as gRPC, which needs HTTP/2: give the service 'protocol: http2'."));
        }

        for (var i = 0; i < (p.Compress?.Types?.Count ?? 0); i++)
        {
            var type = p.Compress!.Types![i];
            var slash = type.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == type.Length - 1 || !IsToken(type[..slash]) || (type[(slash + 1)..] != "*" && !IsToken(type[(slash + 1)..])))
            {
                errors.Add(new ConfigError($"{path}.compress.types[{i}]", $"'{type}' is not a media type; write 'type/subtype' (application/json) or 'type/*' (text/*), without parameters."));
            }
        }

        if (p.Cache is { } cache)
        {
            if (cache.Ttl <= TimeSpan.Zero)
            {
                errors.Add(new ConfigError($"{path}.cache.ttl", "must be more than 0s; how long a response stays fresh, e.g. '30s'."));
            }

            CheckNames($"{path}.cache.headers", cache.Headers, errors);
            for (var i = 0; i < (cache.Query?.Count ?? 0); i++)
            {
                if (cache.Query![i].Length == 0)
                {
                    errors.Add(new ConfigError($"{path}.cache.query[{i}]", "a query parameter name cannot be empty."));
                }
            }
        }

        if (p.Transform is { } transform)
        {
            CheckTransform($"{path}.transform", transform, config, service, route, errors);
        }
    }

    private static void CheckTransform(string path, TransformConfig t, GatehouseConfig config, ServiceConfig? service, RouteConfig? route, List<ConfigError> errors)
    {
        var keyHeader = config.Gateway.ApiKeys.Header;
        var credential = service?.Credential?.Header;
        var none = new HashSet<string>();
        void Error(string at, string message) => errors.Add(new ConfigError(at, message));
        var requestCompiler = new TemplateCompiler([], Error);
        if (t.Request is { } req)
        {
            if (req.Headers is { } h)
            {
                CheckHeaderChanges($"{path}.request.headers", h, (name, action) => TransformHeaders.RequestRefusal(name, action, keyHeader, credential), requestCompiler, errors);
            }

            if (req.Path is { } template)
            {
                CheckPathTemplate($"{path}.request.path", template, route, requestCompiler, errors);
            }

            if (req.Query is { } q)
            {
                foreach (var (name, value) in q.Set)
                {
                    CheckValue($"{path}.request.query.set.{name}", value, requestCompiler, header: false, errors);
                }
            }
        }

        if (t.Response is { } res)
        {
            if (res.Headers is { } h)
            {
                CheckHeaderChanges($"{path}.response.headers", h, TransformHeaders.ResponseRefusal, requestCompiler, errors);
            }

            foreach (var (from, to) in res.Status)
            {
                if (!int.TryParse(from, out var code) || code is < 100 or > 599 || code.ToString(System.Globalization.CultureInfo.InvariantCulture) != from)
                {
                    errors.Add(new ConfigError($"{path}.response.status.{from}", $"'{from}' is not a status code; map codes 100-599, e.g. '404: 204'."));
                }
                else if (code is < 200 && from != "100")
                {
                    errors.Add(new ConfigError($"{path}.response.status.{from}", "informational statuses (1xx) are not final responses and cannot be mapped."));
                }

                if (to is < 200 or > 599)
                {
                    errors.Add(new ConfigError($"{path}.response.status.{from}", $"{to} cannot be sent as a final status; use 200-599."));
                }
            }

            if (res.Body is { } body)
            {
                new TemplateCompiler(["response"], Error).Compile(body, $"{path}.response.body", [], none);
            }
        }
    }

    private static void CheckHeaderChanges(string path, HeaderTransformConfig h, Func<string, string, string?> refusal, TemplateCompiler compiler, List<ConfigError> errors)
    {
        foreach (var (action, names) in new[] { ("set", h.Set.Keys), ("add", h.Add.Keys), ("remove", (IEnumerable<string>)h.Remove) })
        {
            var i = 0;
            foreach (var name in names)
            {
                var at = action == "remove" ? $"{path}.remove[{i++}]" : $"{path}.{action}.{name}";
                if (!IsToken(name))
                {
                    errors.Add(new ConfigError(at, $"'{name}' is not a header name; use letters, digits and '-'."));
                }
                else if (refusal(name, action) is { } why)
                {
                    errors.Add(new ConfigError(at, why));
                }
            }
        }

        foreach (var (name, value) in h.Set.Concat(h.Add))
        {
            CheckValue($"{path}.{(h.Set.ContainsKey(name) ? "set" : "add")}.{name}", value, compiler, header: true, errors);
        }
    }

    private static void CheckValue(string path, string value, TemplateCompiler compiler, bool header, List<ConfigError> errors)
    {
        var template = compiler.CompileValue(value, path, [], new HashSet<string>());
        if (header && template is LiteralTemplate { Value: { } literal } && !TransformHeaders.IsSafeValue(literal.ToString()))
        {
            errors.Add(new ConfigError(path, "the value has a character a header cannot carry (a control character such as CR, LF or NUL, or non-ASCII); remove it."));
        }
    }

    private static void CheckPathTemplate(string path, string template, RouteConfig? route, TemplateCompiler compiler, List<ConfigError> errors)
    {
        if (!template.StartsWith('/'))
        {
            errors.Add(new ConfigError(path, $"'{template}' must start with '/', e.g. '/v2/items/{{id}}'."));
            return;
        }

        CheckPlaceholders(path, template, route, compiler, errors);
    }

    private static void CheckLocation(string path, string location, int status, RouteConfig? route, TemplateCompiler compiler, List<ConfigError> errors)
    {
        if (status is not (201 or (>= 300 and <= 399)))
        {
            errors.Add(new ConfigError(path, $"a Location is read on a redirect (3xx) or a 201, and the answer's status is {status}; set 'status' (e.g. 301, 302, 307 or 308)."));
        }

        var literal = string.Concat(location.Split('{', '}').Where((_, i) => i % 2 == 0));
        if (!location.StartsWith('/') && !(Uri.TryCreate(literal, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0))
        {
            errors.Add(new ConfigError(path, $"'{location}' is neither a path (starting with '/') nor an absolute http or https URL; write e.g. '/v2/orders/{{id}}' or 'https://api.example.com/v2/{{**rest}}'."));
        }
        else if (!TransformHeaders.IsSafeValue(literal) || literal.Contains(' ', StringComparison.Ordinal))
        {
            errors.Add(new ConfigError(path, "the location has a character a header cannot carry, or a space; percent-encode it."));
        }
        else
        {
            CheckPlaceholders(path, location, route, compiler, errors);
        }
    }

    private static void CheckPlaceholders(string path, string template, RouteConfig? route, TemplateCompiler compiler, List<ConfigError> errors)
    {
        var captures = route?.Path is { } p && PathTemplate.TryParse(p, out _) is { } parsed ? parsed.ParameterNames.ToList() : null;
        foreach (var part in PathPlaceholders(template))
        {
            if (part.StartsWith('@'))
            {
                compiler.CompileValue(part, path, [], new HashSet<string>());
            }
            else if (captures is not null && !captures.Contains(part.TrimStart('*'), StringComparer.Ordinal))
            {
                errors.Add(new ConfigError(path, $"'{{{part}}}' is not a parameter of the route's path '{route!.Path}'; use one of {string.Join(", ", captures.Select(c => "{" + c + "}"))}, or a reference such as '{{@request.application}}'."));
            }
        }
    }

    /// <summary>The names between braces in a transform's path template (<c>id</c>, <c>@request.plan</c>).</summary>
    public static IEnumerable<string> PathPlaceholders(string template)
    {
        var at = 0;
        while ((at = template.IndexOf('{', at)) >= 0)
        {
            var end = template.IndexOf('}', at);
            if (end < 0)
            {
                yield break;
            }

            yield return template[(at + 1)..end];
            at = end + 1;
        }
    }

    private static bool ReadsCaller(RequestTransformConfig r) =>
        (r.Headers?.Set.Values ?? []).Concat(r.Headers?.Add.Values ?? []).Concat(r.Query?.Set.Values ?? []).Concat(r.Path is { } p ? PathPlaceholders(p) : [])
            .Any(v => v.Contains("@request.application", StringComparison.Ordinal) || v.Contains("@request.plan", StringComparison.Ordinal));

    private static void CheckOrigins(string path, IReadOnlyList<string> origins, bool credentials, List<ConfigError> errors)
    {
        for (var i = 0; i < origins.Count; i++)
        {
            if (CorsOrigin.Parse(origins[i], out var error) is not { } origin)
            {
                errors.Add(new ConfigError($"{path}[{i}]", error!));
            }
            else if (origin.Any && credentials)
            {
                errors.Add(new ConfigError($"{path}[{i}]", "'*' with 'credentials: true' would let every site make credentialed calls (browsers refuse it too); list the origins."));
            }
        }
    }

    /// <summary>
    /// A plan's origins are allowed on every route with CORS that the plan's callers reach, with that route's
    /// <c>credentials</c>: what the route's own list may not hold with <c>credentials: true</c> (<c>*</c>), the plan's may not
    /// either, when the plan reaches such a route (it grants it, or it is in shadow mode and lets every call through).
    /// </summary>
    private static void CheckPlanOriginsOnCredentialedRoutes(string name, PlanConfig plan, GatehouseConfig config,
        List<(string Id, RouteConfig Route, string Cors)> credentialed, List<ConfigError> errors)
    {
        if (credentialed.Count == 0 || !plan.CorsOrigins.Contains("*", StringComparer.Ordinal))
        {
            return;
        }

        var grants = plan.Mode == EnforcementMode.Shadow ? null : PlanGrants.Resolve(plan, config);
        var reached = credentialed
            .Where(c => grants is null || (c.Route.Operation is { } operation ? grants.Operations.ContainsKey(operation) : grants.Routes.ContainsKey(c.Id)))
            .ToList();
        if (reached.Count == 0)
        {
            return;
        }

        var others = reached.Count > 1 ? $" (and {Plural.Count(reached.Count - 1, "more route")}: {string.Join(", ", reached.Skip(1).Take(3).Select(r => r.Id))}{(reached.Count > 4 ? ", …" : "")})" : "";
        var how = grants is null ? "this plan is in shadow mode, so its callers reach" : "this plan grants";
        for (var i = 0; i < plan.CorsOrigins.Count; i++)
        {
            if (plan.CorsOrigins[i] == "*")
            {
                errors.Add(new ConfigError($"plans.{name}.corsOrigins[{i}]",
                    $"'*' with 'credentials: true' would let every site make credentialed calls: {how} route '{reached[0].Id}'{others}, whose CORS policy ({reached[0].Cors}) has 'credentials: true'. "
                    + "List the plan's origins (e.g. 'https://app.example.com'), or set 'credentials: false' on the route."));
            }
        }
    }

    private static void CheckIpFilter(string path, IpFilterConfig? filter, List<ConfigError> errors)
    {
        if (filter is null)
        {
            return;
        }

        foreach (var (key, list) in new[] { ("allow", filter.Allow), ("deny", filter.Deny) })
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (CheckProxy(list[i]) is { } error)
                {
                    errors.Add(new ConfigError($"{path}.{key}[{i}]", error));
                }
            }
        }
    }

    private static void CheckNames(string path, IReadOnlyList<string> names, List<ConfigError> errors)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (!IsToken(names[i]))
            {
                errors.Add(new ConfigError($"{path}[{i}]", $"'{names[i]}' is not a header name; use letters, digits and '-'."));
            }
        }
    }
}
