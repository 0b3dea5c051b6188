namespace Gatehouse.Management.Console;

/// <summary>
/// A console page's search: a GET form (it works without JavaScript, and its address can be kept or shared) of
/// <paramref name="Fields"/>, and one-click links (such as "pending") beside it.
/// </summary>
public sealed record ConsoleSearch(string Action, IReadOnlyList<ConsoleField> Fields, IReadOnlyList<ConsoleLink> Links);

/// <summary>
/// One field of a <see cref="ConsoleSearch"/>: a text box, or a list of <paramref name="Options"/> (the first, "", is "any")
/// when they are given; <paramref name="Value"/> is what the page was searched with.
/// </summary>
public sealed record ConsoleField(string Name, string Label, string? Value, IReadOnlyList<string>? Options = null);

/// <summary>A link of a console page, with <paramref name="Current"/> marking the one the page shows.</summary>
public sealed record ConsoleLink(string Label, string Href, bool Current = false);
