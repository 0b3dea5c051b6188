namespace Gatehouse.Management.Consumers;

/// <summary>
/// What someone should hear of by mail (<see cref="ConsumerService.Notify"/>): a consumer, of an administrator's decision
/// (their sign-up or application approved or rejected, their address changed on the administrator's word); the
/// console's administrators, of an account or application that waits for them. The portal in the same process words and
/// sends it; a process without a portal that sends mail sends nothing.
/// </summary>
internal sealed record ConsumerNotice(ConsumerNoticeKind Kind, string Email, string? Application = null, string? Plan = null, string? NewEmail = null, string? Link = null,
    string? Provider = null);

/// <summary>What a <see cref="ConsumerNotice"/> tells.</summary>
internal enum ConsumerNoticeKind
{
    /// <summary>A pending account may now create applications.</summary>
    AccountApproved,
    /// <summary>A pending account was refused.</summary>
    AccountRejected,
    /// <summary>A pending application is live: its key works.</summary>
    ApplicationApproved,
    /// <summary>A pending application was refused.</summary>
    ApplicationRejected,
    /// <summary>An administrator gave the account another address (told to the old one).</summary>
    AddressChanged,
    /// <summary>A new account waits for approval (told to the console's administrators, in a digest).</summary>
    AccountPending,
    /// <summary>An application waits for approval (told to the console's administrators, in a digest).</summary>
    ApplicationPending,
    /// <summary>Someone is invited to the console: the link at which they choose their password.</summary>
    ConsoleInvite,
    /// <summary>A console user asked for a new password: the link at which they choose it.</summary>
    ConsoleReset,
    /// <summary>Someone is invited to a console where only the single sign-on provider signs people in: the sign-in page, and the provider's name.</summary>
    ConsoleInviteSso,
}
