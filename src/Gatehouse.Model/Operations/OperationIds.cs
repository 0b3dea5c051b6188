using System.Text;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Operations;

/// <summary>The rules for operation ids: what a valid one is, and the one derived when a document gives none.</summary>
public static class OperationIds
{
    /// <summary>
    /// True for 1-100 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit: the rule for
    /// every name in the config, so that a published operation's id can also be its route's id.
    /// </summary>
    public static bool IsValid(string id) => YamlBinder.IsValidName(id);

    /// <summary>
    /// The id of an operation without an <c>operationId</c>: <c>SERVICE.METHOD</c> followed by each path segment
    /// in PascalCase, a parameter <c>{name}</c> becoming <c>ByName</c>. <c>GET /users/{id}</c> of service
    /// <c>users</c> is <c>users.getUsersById</c>; <c>POST /order-items</c> of <c>orders</c> is
    /// <c>orders.postOrderItems</c>; <c>GET /</c> is <c>SERVICE.get</c>. Characters other than ASCII letters and
    /// digits separate words and are dropped.
    /// </summary>
    public static string Derive(string service, string method, string path)
    {
        var sb = new StringBuilder(service.Length + path.Length + 8);
        sb.Append(service).Append('.').Append(method.ToLowerInvariant());
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment.StartsWith('{') && segment.EndsWith('}'))
            {
                sb.Append("By");
                AppendPascal(sb, segment.Trim('{', '}', '*'));
            }
            else
            {
                AppendPascal(sb, segment);
            }
        }

        return sb.ToString();
    }

    private static void AppendPascal(StringBuilder sb, string text)
    {
        var startOfWord = true;
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                startOfWord = true;
                continue;
            }

            sb.Append(startOfWord ? char.ToUpperInvariant(c) : c);
            startOfWord = false;
        }
    }
}
