using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Consumers;

/// <summary>
/// The portal's switches are listed once (<see cref="PortalSwitches"/>) for the admin API and the console's Settings
/// page; what those show must be what the portal does, for every value a store may hold (an operator may have written
/// one by hand).
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalSwitchesTests
{
    [Fact]
    public async Task EachSwitch_ReadsAsTheServiceActsOnIt_ForEveryStoredValue()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("gatehouse-switches-").FullName, "store.db");
        await using var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        var service = new ConsumerService(store, null, _ => Task.FromResult<GatehouseConfig?>(new GatehouseConfig()), TimeProvider.System);
        var acts = new Dictionary<string, Func<Task<bool>>>
        {
            ["accountApproval"] = () => service.AccountApprovalAsync(CancellationToken.None),
            ["emailVerification"] = () => service.EmailVerificationAsync(CancellationToken.None),
            ["twoStepRequired"] = () => service.TwoStepRequiredAsync(CancellationToken.None),
            ["apiTokens"] = () => service.ApiTokensAsync(CancellationToken.None),
        };
        Assert.Equal(acts.Keys.Order(), PortalSwitches.All.Select(s => s.Name).Order());
        // As docs/portal.md and the admin API describe them: apiTokens is on until set to false, the others are off
        // until set to true; whatever else a store holds reads as the default.
        var onByDefault = new Dictionary<string, bool> { ["accountApproval"] = false, ["emailVerification"] = false, ["twoStepRequired"] = false, ["apiTokens"] = true };
        foreach (var (name, setting, @default, _) in PortalSwitches.All)
        {
            Assert.Equal(onByDefault[name], @default);
            Assert.Equal(onByDefault[name], await acts[name]());
            foreach (var (stored, on) in new[] { ("true", true), ("false", false), ("yes", onByDefault[name]), ("", onByDefault[name]) })
            {
                await store.SetSettingAsync(setting, stored);
                Assert.True(on == await acts[name](), $"{name} stored as '{stored}'");
                Assert.Equal(on, PortalSwitches.IsOn(stored, @default));
            }

            Assert.Equal(setting, PortalSwitches.SettingOf(name));
        }

        Assert.Null(PortalSwitches.SettingOf("maxApplicationsPerAccount"));
    }
}
