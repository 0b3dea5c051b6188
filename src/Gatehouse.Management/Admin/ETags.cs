using System.Security.Cryptography;
using System.Text;
using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Admin;

/// <summary>Entity tags of resources: a hash of the body and of the revision the row was committed in.</summary>
internal static class ETags
{
    public static string Of(StoredResource resource) => Of(resource.Body, resource.Revision);

    public static string Of(string body, long revision) =>
        "\"" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(revision.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + body)))[..32] + "\"";

    /// <summary>
    /// True when an <c>If-Match</c> header allows changing <paramref name="current"/>: no header, <c>*</c> for an existing
    /// resource, or a list that holds its tag (weak tags never match: RFC 9110 uses strong comparison for If-Match).
    /// </summary>
    public static bool IfMatchAllows(string? ifMatch, StoredResource? current)
    {
        if (string.IsNullOrWhiteSpace(ifMatch))
        {
            return true;
        }

        if (current is null)
        {
            return false;
        }

        var tag = Of(current);
        foreach (var part in ifMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "*" || part == tag)
            {
                return true;
            }
        }

        return false;
    }
}
