using Gatehouse.Model.Config;

namespace Gatehouse.Model.Access;

/// <summary>The access classes a plan grants on one operation or route.</summary>
[Flags]
public enum AccessFlags
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>Read methods (GET, HEAD, OPTIONS by default).</summary>
    Read = 1,
    /// <summary>Every other method.</summary>
    Write = 2,
}

/// <summary>Conversions between <see cref="OperationAccess"/> and <see cref="AccessFlags"/>.</summary>
public static class AccessFlagsExtensions
{
    /// <summary>The flag of one access class.</summary>
    public static AccessFlags ToFlag(this OperationAccess access) => access == OperationAccess.Read ? AccessFlags.Read : AccessFlags.Write;

    /// <summary>The flags of a list of access classes.</summary>
    public static AccessFlags ToFlags(this IEnumerable<OperationAccess> access) => access.Aggregate(AccessFlags.None, (f, a) => f | a.ToFlag());
}
