namespace Gatehouse.Management.Revisions;

/// <summary>One entry of the config document as a resource: <paramref name="Body"/> is the entry's JSON, as it would be written in the file.</summary>
public sealed record ConfigResource(string Kind, string Name, string Body);
