using System.Diagnostics.CodeAnalysis;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Operations;

/// <summary>Every operation of a config by its global id, with the service that defines it.</summary>
public sealed class OperationIndex
{
    private readonly Dictionary<string, (string Service, OperationConfig Operation)> _byId;

    private OperationIndex(Dictionary<string, (string, OperationConfig)> byId) => _byId = byId;

    /// <summary>All operation ids.</summary>
    public IEnumerable<string> Ids => _byId.Keys;

    /// <summary>Indexes <paramref name="config"/>'s operations. When two services define one id (a config error), the first wins.</summary>
    public static OperationIndex Build(GatehouseConfig config)
    {
        var byId = new Dictionary<string, (string, OperationConfig)>(StringComparer.Ordinal);
        foreach (var (name, service) in config.Services)
        {
            foreach (var (id, operation) in service.Operations)
            {
                byId.TryAdd(id, (name, operation));
            }
        }

        return new OperationIndex(byId);
    }

    /// <summary>Finds operation <paramref name="id"/> and the name of its service.</summary>
    public bool TryGet(string id, [MaybeNullWhen(false)] out string service, [MaybeNullWhen(false)] out OperationConfig operation)
    {
        if (_byId.TryGetValue(id, out var found))
        {
            (service, operation) = found;
            return true;
        }

        service = null;
        operation = null;
        return false;
    }
}
