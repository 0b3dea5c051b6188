namespace Gatehouse.Management.Console;

/// <summary>
/// A whole-number setting on the console's Settings page, with the form that sets it: <paramref name="Id"/> names the
/// section and its form's address (<c>/console/settings/{Id}</c>), <paramref name="Field"/> the form's field. After a
/// refused post, <paramref name="Entered"/> is what was typed (shown again, so nothing is lost) and
/// <paramref name="Error"/> says in words what to give instead; otherwise both are null.
/// </summary>
public sealed record ConsoleNumberSetting(
    string Id, string Field, string Title, string Label, string What, int Now, int Default, int Ceiling, string? Entered = null, string? Error = null);
