namespace Gatehouse.Gateway.Routing;

/// <summary>
/// The route a request made inside the gateway has already chosen (an MCP tool call, issue 22): the route bound to
/// <see cref="OperationId"/> with the public path template <see cref="Template"/> that accepts <see cref="Method"/>. The
/// request is matched against that route alone (<see cref="RouteTable.MatchPinned"/>), never found again by its path, so
/// an argument such as <c>me</c> for <c>/users/{id}</c> cannot land on a literal <c>/users/me</c> route, and a route bound
/// to a host or with <c>match</c> conditions is reached as <c>tools/list</c> showed it.
/// </summary>
internal sealed class RoutePin(string operationId, string method, string template)
{
    /// <summary>The operation id (a composition's too).</summary>
    public string OperationId { get; } = operationId;

    /// <summary>Upper-case public method.</summary>
    public string Method { get; } = method;

    /// <summary>The public path template as written in the config (<c>RouteModel.Template</c>).</summary>
    public string Template { get; } = template;
}
