using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>A grant selects operations by exactly one of its selectors, for read, write or both.</summary>
internal sealed class GrantRules : BindingRules<GrantConfig>
{
    private static readonly string[] Selectors = ["operation", "tag", "path", "route"];

    protected override GrantConfig? Check(GrantConfig grant, BindingScope scope)
    {
        var written = Selectors.Where(scope.Has).ToList();
        if (written.Count != 1)
        {
            scope.B.Error(scope.Path, scope.Node, written.Count == 0
                ? "a rule selects operations by one of 'operation', 'tag', 'path' or 'route', e.g. '{ tag: users, access: read }'."
                : $"a rule has one selector; this one has {string.Join(" and ", written.Select(s => $"'{s}'"))}. Split it into one rule each.");
            return null;
        }

        if (scope.Failed(written[0]))
        {
            return null;
        }

        if (!scope.Map.TryGetValue("access", out var accessNode))
        {
            return grant;
        }

        // Not an enum list: its error names the two classes and the list form in one sentence.
        var access = new List<OperationAccess>();
        var accessPath = scope.At("access");
        foreach (var text in scope.B.OneOrMany(accessNode, accessPath))
        {
            if (text is "read" or "write")
            {
                var parsed = text == "read" ? OperationAccess.Read : OperationAccess.Write;
                if (!access.Contains(parsed))
                {
                    access.Add(parsed);
                }
            }
            else
            {
                scope.B.Error(accessPath, accessNode, $"'{text}' is not an access class; write read, write or [read, write].");
            }
        }

        return access.Count == 0 ? null : grant with { Access = access };
    }
}
