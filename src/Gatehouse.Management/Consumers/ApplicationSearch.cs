namespace Gatehouse.Management.Consumers;

/// <summary>
/// What a list of portal applications is narrowed to (the console's search and <c>GET /admin/portal/applications</c>);
/// every part is optional, and each one given uses an index of the store.
/// </summary>
/// <param name="Id">Only the application with this id (exact).</param>
/// <param name="Title">
/// Only applications whose title starts with this, in any case (<see cref="Fold"/>). Without an id or an account, the
/// applications then come in title order, not id order.
/// </param>
/// <param name="Account">Only the applications of this account: its id, or its address (exact, in any case).</param>
/// <param name="Plan">Only applications on this plan.</param>
/// <param name="State">Only applications in this state (their own state, not their account's).</param>
public sealed record ApplicationSearch(string? Id = null, string? Title = null, string? Account = null, string? Plan = null, Model.Config.ApplicationState? State = null)
{
    /// <summary>
    /// A title as it is searched: lower case by the invariant culture, in C# rather than the database's <c>lower()</c>,
    /// which folds only ASCII in SQLite and follows the server's locale in PostgreSQL. The store keeps it beside the title.
    /// </summary>
    public static string Fold(string title) => title.ToLowerInvariant();
}
