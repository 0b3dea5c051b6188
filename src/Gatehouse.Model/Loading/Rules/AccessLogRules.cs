using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>The access log's <c>path</c> is a file relative to the config file, except the word <c>stdout</c>.</summary>
internal sealed class AccessLogRules : BindingRules<AccessLogConfig>
{
    protected override AccessLogConfig? Check(AccessLogConfig log, BindingScope scope) =>
        !scope.Failed("path") && scope.Map.TryGetValue("path", out var path) && scope.B.String(path, scope.At("path")) == "stdout" ? log with { Path = "stdout" } : log;
}
