namespace Gatehouse.Model.Registrations;

/// <summary>A target that registered itself (<see cref="RegistrationUrl"/> form), serving until <paramref name="ExpiresAt"/>.</summary>
public sealed record RegisteredTarget(Uri Url, DateTimeOffset ExpiresAt);
