namespace Gatehouse.Model.Tests.Access;

/// <summary>Documents for the access tests: services users and orders with read and write operations, and two routes.</summary>
internal static class AccessDocs
{
    public const string HashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    public const string HashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// <summary>
    /// The services and routes, then <paramref name="rest"/> (top-level sections such as <c>plans:</c>,
    /// <c>applications:</c>), then <c>accounts: { acme: {} }</c> unless <paramref name="accounts"/> is false.
    /// </summary>
    public static string With(string rest, bool accounts = true) => """
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
            operations:
              users.getUser: { method: GET, path: "/users/{id}", tags: [users] }
              users.updateUser: { method: PUT, path: "/users/{id}", tags: [users] }
              users.deleteUser: { method: DELETE, path: "/users/{id}", tags: [users, admin] }
          orders:
            targets: [http://127.0.0.1:5002]
            operations:
              orders.list: { method: GET, path: /orders, tags: [orders] }
              orders.create: { method: POST, path: /orders, tags: [orders] }
              orders.search: { method: POST, path: /orders/search, tags: [orders], access: read }
        routes:
          getUser: { operation: users.getUser }
          legacy: { path: "/legacy/{**rest}", service: users }

        """ + rest.Replace("\r\n", "\n", StringComparison.Ordinal) + (accounts ? "\naccounts: { acme: {} }\n" : "\n");

    /// <summary>A document with one plan <c>retail</c> whose body is <paramref name="plan"/> (indented four spaces).</summary>
    public static string WithPlan(string plan) => With("plans:\n  retail:\n" + Indent(plan, 4));

    /// <summary>Plan <c>retail</c> granting everything, and <paramref name="applications"/> as the body of <c>applications:</c>.</summary>
    public static string WithApplications(string applications, string morePlans = "") =>
        With("plans:\n  retail:\n    include: [ { path: /** } ]\n" + morePlans + "applications:\n" + Indent(applications, 2));

    public static string Indent(string text, int spaces)
    {
        var pad = new string(' ', spaces);
        return string.Join("\n", text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.Length == 0 ? l : pad + l)) + "\n";
    }
}
