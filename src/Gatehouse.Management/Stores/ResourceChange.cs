namespace Gatehouse.Management.Stores;

/// <summary>One change in a commit: set <paramref name="Kind"/>/<paramref name="Name"/> to <paramref name="Body"/>, or delete it when <paramref name="Body"/> is null.</summary>
public sealed record ResourceChange(string Kind, string Name, string? Body);
