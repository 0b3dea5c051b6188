using Gatehouse.Model.Validation;

namespace Gatehouse.Cli.Commands;

/// <summary>How the commands print config errors: a count line on stderr, then one indented line per error with its path.</summary>
internal static class ConfigErrorOutput
{
    /// <summary>Prints "<paramref name="subject"/>: N errors[; <paramref name="outcome"/>]" and every error.</summary>
    public static void Print(string subject, IReadOnlyList<ConfigError> errors, string? outcome = null)
    {
        Console.Error.WriteLine($"{subject}: {errors.Count} error{(errors.Count == 1 ? "" : "s")}{(outcome is null ? "" : "; " + outcome)}");
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"  {error}");
        }
    }
}
