namespace Gatehouse.Model.Validation;

/// <summary>One problem in a configuration document: where it is and how to fix it.</summary>
/// <param name="Path">Dotted path to the offending value, e.g. <c>services.users.targets[0].url</c>.</param>
/// <param name="Message">What is wrong and what to do about it.</param>
/// <param name="Line">1-based line in the source file, when known.</param>
public sealed record ConfigError(string Path, string Message, int? Line = null)
{
    /// <inheritdoc />
    public override string ToString() => (Path.Length, Line) switch
    {
        (0, { } line) => $"line {line}: {Message}",
        (0, null) => Message,
        (_, { } line) => $"{Path} (line {line}): {Message}",
        _ => $"{Path}: {Message}",
    };
}
