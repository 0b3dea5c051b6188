using System.Text.Json;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Validation;

namespace Gatehouse.Gateway.Policies.Validation;

/// <summary>
/// A composition's <c>inputs</c> as the contract of an operation with only parameters, so that they are checked by the
/// same <see cref="RequestValidator"/> as a route's (400 <c>invalid-request</c> with JSON pointers), always enforced.
/// </summary>
internal static class CompositionInputs
{
    /// <summary>The check of composition <paramref name="id"/>'s inputs; null (with an error added) when a schema cannot be built.</summary>
    public static RequestValidator? Compile(string id, CompositionConfig composition, List<ConfigError> errors)
    {
        var parameters = new List<ParameterContract>();
        foreach (var (name, input) in composition.Inputs)
        {
            var place = input.In switch
            {
                CompositionInputPlace.Path => "path",
                CompositionInputPlace.Header => "header",
                _ => "query",
            };
            parameters.Add(new ParameterContract(name, place, input.Required || input.In == CompositionInputPlace.Path, input.Schema?.ToJsonString()));
        }

        try
        {
            return RequestValidator.Compile(new ValidationConfig(), $"compositions.{id}", new OperationContract(parameters, null, new Dictionary<string, IReadOnlyDictionary<string, string?>>()));
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            errors.Add(new ConfigError($"compositions.{id}.inputs", $"a schema of the inputs is not a JSON Schema the gateway can use ({e.Message}); fix it, or remove it to check only presence."));
            return null;
        }
    }
}
