namespace Gatehouse.Management.Stores;

/// <summary>One resource as stored: an opaque JSON document identified by <paramref name="Kind"/> and <paramref name="Name"/>.</summary>
/// <param name="Kind">The resource kind, for example <c>plan</c>.</param>
/// <param name="Name">The resource name, unique within its kind, for example <c>retail</c>.</param>
/// <param name="Body">The JSON document, exactly as it was committed (not normalized).</param>
/// <param name="Revision">The revision in which this version of the resource was committed.</param>
public sealed record StoredResource(string Kind, string Name, string Body, long Revision);
