using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>A response transform's <c>body</c> is a composition template: a JSON tree, read as compositions read theirs.</summary>
internal sealed class ResponseTransformRules : BindingRules<ResponseTransformConfig>
{
    protected override ResponseTransformConfig? Check(ResponseTransformConfig transform, BindingScope scope) =>
        scope.Map.TryGetValue("body", out var body)
            ? transform with { Body = scope.Binder.Compositions.Json(body, scope.At("body"), 0) }
            : transform;
}
