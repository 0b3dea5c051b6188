namespace Gatehouse.Management.Console;

/// <summary>One row of a console table: its cells (text, encoded when rendered) and the actions (form posts) it offers.</summary>
public sealed record ConsoleRow(IReadOnlyList<string> Cells, IReadOnlyList<ConsoleAction> Actions, string? Link = null);

/// <summary>
/// A button that posts to <paramref name="Url"/>; <paramref name="Danger"/> styles it as destructive, and
/// <paramref name="Confirm"/> puts a required "sure" checkbox (confirm=yes) beside it, for what cannot be undone.
/// </summary>
public sealed record ConsoleAction(string Label, string Url, bool Danger = false, bool Confirm = false);

/// <summary>A titled table of a console page; <paramref name="More"/> links to its next page (older entries, or further results).</summary>
public sealed record ConsoleTable(string Title, IReadOnlyList<string> Headers, IReadOnlyList<ConsoleRow> Rows, string Empty = "Nothing here.", ConsoleLink? More = null);
