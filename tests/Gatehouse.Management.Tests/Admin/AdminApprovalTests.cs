using System.Net;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Approving and rejecting pending applications (#5 item 6).</summary>
public sealed class AdminApprovalTests
{
    private static async Task<AdminHarness> StartWithPlansAsync()
    {
        var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/plans/retail", """{"approvalRequired":true}""");
        await admin.PutOkAsync("/admin/plans/free", """{}""");
        await admin.PutOkAsync("/admin/accounts/acme", """{}""");
        return admin;
    }

    [Fact]
    public async Task PutApplication_OnAPlanThatRequiresApproval_StartsPending_ThenApproveMakesItLive()
    {
        await using var admin = await StartWithPlansAsync();

        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail"}""");
        Assert.Equal(ApplicationState.Pending, admin.Applied[^1].Applications["shop"].State);

        using var approved = await admin.Client.PostAsync("/admin/applications/shop/approve", null);
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var body = await AdminHarness.ReadObjectAsync(approved);
        Assert.Equal("live", (string)body["state"]!);
        Assert.Equal(ApplicationState.Live, admin.Applied[^1].Applications["shop"].State);
        var revision = (long)body["revision"]!;
        Assert.Equal($"approve application shop", (await admin.Store.ListRevisionsAsync())[0].Summary);
        var audit = Assert.Single(await admin.Store.ListAuditAsync(), a => a.Revision == revision);
        Assert.Equal("update", audit.Action);
        Assert.Contains("\"pending\"", audit.Before, StringComparison.Ordinal);
        Assert.Contains("\"live\"", audit.After, StringComparison.Ordinal);

        using var again = await admin.Client.PostAsync("/admin/applications/shop/approve", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("urn:gatehouse:problem:application-not-pending", (string)(await AdminHarness.ReadObjectAsync(again))["type"]!);
        Assert.Equal(revision, await admin.Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Reject_PendingApplication_SuspendsIt_AndRejectingALiveOneIs409()
    {
        await using var admin = await StartWithPlansAsync();
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail"}""");
        await admin.PutOkAsync("/admin/applications/free-app", """{"account":"acme","plan":"free"}""");
        await admin.PutOkAsync("/admin/applications/explicit", """{"account":"acme","plan":"retail","state":"live"}""");
        Assert.Equal(ApplicationState.Live, admin.Applied[^1].Applications["free-app"].State);
        Assert.Equal(ApplicationState.Live, admin.Applied[^1].Applications["explicit"].State);

        using var rejected = await admin.Client.PostAsync("/admin/applications/shop/reject", null);
        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Equal(ApplicationState.Suspended, admin.Applied[^1].Applications["shop"].State);

        using var live = await admin.Client.PostAsync("/admin/applications/free-app/reject", null);
        Assert.Equal(HttpStatusCode.Conflict, live.StatusCode);
        using var missing = await admin.Client.PostAsync("/admin/applications/nobody/approve", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task PutApplication_Replacing_KeepsTheGivenBody()
    {
        await using var admin = await StartWithPlansAsync();
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail","state":"live"}""");

        // An update without a state is the user's choice (live by the file's rule), not a new subscription.
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"retail"}""");

        Assert.Equal(ApplicationState.Live, admin.Applied[^1].Applications["shop"].State);
    }
}
