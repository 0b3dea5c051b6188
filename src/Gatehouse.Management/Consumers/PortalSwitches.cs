namespace Gatehouse.Management.Consumers;

/// <summary>
/// The portal's on/off settings, kept in the store: one list for the admin API (<c>GET</c>/<c>PUT
/// /admin/portal/settings</c> and its OpenAPI document) and the console's Settings page, so that a switch added here
/// appears in all of them, read the same way.
/// </summary>
internal static class PortalSwitches
{
    /// <summary>Each switch: the name the admin API and the console use, the store setting, whether it is on when never set, and what it does.</summary>
    public static readonly (string Name, string Setting, bool Default, string What)[] All =
    [
        ("accountApproval", ConsumerService.AccountApprovalSetting, false, "New accounts wait for an administrator before they may create applications."),
        ("emailVerification", ConsumerService.EmailVerificationSetting, false, "A sign-up waits until its address is confirmed from a mailed link."),
        ("twoStepRequired", ConsumerService.TwoStepRequiredSetting, false, "An account must turn two-step sign-in on before it may use its applications' pages (its keys work at the gateway regardless)."),
        ("apiTokens", ConsumerService.ApiTokensSetting, true, "Accounts may make API tokens for the portal's JSON API (/api/v1), and those tokens work."),
    ];

    /// <summary>
    /// A stored value read as the service reads it: a switch that is off when never set is on only at <c>true</c>, one
    /// that is on when never set is off only at <c>false</c>.
    /// </summary>
    public static bool IsOn(string? stored, bool @default) => @default ? stored != "false" : stored == "true";

    /// <summary>Whether the switch kept in <paramref name="setting"/> is on when never set.</summary>
    public static bool DefaultOf(string setting) => Array.Find(All, s => s.Setting == setting) is { Setting: not null } found
        ? found.Default
        : throw new ArgumentException($"'{setting}' is not a portal switch.", nameof(setting));

    /// <summary>The store setting of the switch the admin API calls <paramref name="name"/>; null when there is none.</summary>
    public static string? SettingOf(string name) => Array.Find(All, s => s.Name == name).Setting;
}
