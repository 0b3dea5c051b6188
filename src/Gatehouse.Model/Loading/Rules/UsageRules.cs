using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary><c>usage.keepDays</c> is a duration or the word <c>forever</c> (the default, which may be written to say so).</summary>
internal sealed class UsageRules : BindingRules<UsageConfig>
{
    protected override UsageConfig? Check(UsageConfig usage, BindingScope scope)
    {
        if (!scope.Map.TryGetValue("keepDays", out var days) || days is YamlScalarNode { Value: "forever" })
        {
            return usage with { KeepDays = null };
        }

        return scope.B.Duration(days, scope.At("keepDays")) is { } keepDays ? usage with { KeepDays = keepDays } : usage;
    }
}
