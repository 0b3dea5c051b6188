using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Binds a service's <c>openapi</c>, <c>operations</c> and <c>publish</c> keys. Hand-written, not left to the generic
/// binder: declarations are not the <c>OperationConfig</c> records they become (those are resolved against the imported
/// OpenAPI document later), and OpenAPI import reports its errors at these keys' source lines, which this records.
/// </summary>
internal sealed class OperationsReader(YamlBinder b, string baseDirectory)
{
    private readonly Dictionary<string, ServiceOperationSyntax> _services = new(StringComparer.Ordinal);

    /// <summary>Declarations and source lines by service name.</summary>
    public IReadOnlyDictionary<string, ServiceOperationSyntax> Services => _services;

    public ServiceConfig Read(string service, IReadOnlyDictionary<string, YamlNode> map, string path, ServiceConfig s)
    {
        var syntax = new ServiceOperationSyntax();
        _services[service] = syntax;
        if (map.TryGetValue("openapi", out var openApi))
        {
            s = s with { Openapi = ReadOpenApi(openApi, YamlBinder.Join(path, "openapi"), syntax) };
        }

        if (map.TryGetValue("operations", out var operations))
        {
            foreach (var (id, node, opPath) in b.NamedEntries(operations, YamlBinder.Join(path, "operations")))
            {
                if (ReadDeclaration(id, node, opPath) is { } d)
                {
                    syntax.Declared.Add(d);
                }
            }
        }

        if (map.TryGetValue("publish", out var publish))
        {
            syntax.PublishLine = (int)publish.Start.Line;
            s = s with { Publish = ReadPublish(publish, YamlBinder.Join(path, "publish")) };
        }

        return s;
    }

    private OpenApiConfig? ReadOpenApi(YamlNode node, string path, ServiceOperationSyntax syntax)
    {
        var map = b.Mapping(node, path, "file", "url");
        if (map is null)
        {
            return null;
        }

        var config = new OpenApiConfig();
        if (map.TryGetValue("file", out var file) && b.String(file, YamlBinder.Join(path, "file")) is { Length: > 0 } f)
        {
            syntax.OpenApiLine = (int)file.Start.Line;
            config = config with { File = Path.GetFullPath(f, baseDirectory) };
        }

        if (map.TryGetValue("url", out var url) && b.String(url, YamlBinder.Join(path, "url")) is { Length: > 0 } u)
        {
            syntax.OpenApiLine ??= (int)url.Start.Line;
            config = config with { Url = u };
        }

        syntax.OpenApiLine ??= (int)node.Start.Line;
        return config;
    }

    private OperationDeclaration? ReadDeclaration(string id, YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "method", "path", "tags", "access", "requireScopes");
        if (map is null)
        {
            return null;
        }

        var d = new OperationDeclaration(id, path, (int)node.Start.Line);
        if (map.TryGetValue("method", out var method) && b.String(method, YamlBinder.Join(path, "method")) is { } m)
        {
            d = d with { Method = m.ToUpperInvariant() };
        }

        if (map.TryGetValue("path", out var template) && b.String(template, YamlBinder.Join(path, "path")) is { } p)
        {
            d = d with { Path = p };
        }

        if (map.TryGetValue("tags", out var tags))
        {
            d = d with { Tags = tags is YamlScalarNode ? b.String(tags, YamlBinder.Join(path, "tags")) is { Length: > 0 } one ? [one] : [] : b.StringList(tags, YamlBinder.Join(path, "tags")) };
        }

        if (map.TryGetValue("access", out var access) && b.Enum<OperationAccess>(access, YamlBinder.Join(path, "access")) is { } a)
        {
            d = d with { Access = a };
        }

        if (map.TryGetValue("requireScopes", out var scopes))
        {
            d = d with { RequireScopes = b.StringList(scopes, YamlBinder.Join(path, "requireScopes")) };
        }

        return d;
    }

    private PublishConfig? ReadPublish(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "basePath");
        if (map is null)
        {
            return null;
        }

        var publish = new PublishConfig();
        if (map.TryGetValue("basePath", out var basePath) && b.String(basePath, YamlBinder.Join(path, "basePath")) is { } bp)
        {
            publish = publish with { BasePath = bp };
        }

        return publish;
    }
}
