namespace Gatehouse.Management.Consumers;

/// <summary>
/// What a list of portal accounts is narrowed to (the console's search and <c>GET /admin/portal/accounts</c>); every part
/// is optional, and each one given uses an index of the store.
/// </summary>
/// <param name="State">Only accounts in this state.</param>
/// <param name="Email">
/// Only accounts whose address starts with this (an exact address is its own prefix), normalized as addresses are stored
/// (trimmed, lower case). The accounts then come in address order, not id order.
/// </param>
public sealed record AccountSearch(AccountState? State = null, string? Email = null);
