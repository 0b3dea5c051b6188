using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: "when users sign up for API access, I add them to one of the service tiers". An administrator puts a
/// portal application on any plan, hidden ones too (<c>PUT /admin/portal/applications/{id}/plan</c>), and its key
/// follows the plan at the gateway.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalPlanMoveTests
{
    private static async Task<(HttpStatusCode Status, JsonNode? Body)> MoveAsync(HttpClient admin, string id, string json)
    {
        using var response = await admin.PutAsync($"/admin/portal/applications/{id}/plan", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static async Task<HttpStatusCode> WriteAsync(PortalHarness h, string key)
    {
        using var gateway = new HttpClient { BaseAddress = new Uri(h.Gateway.Urls[0]) };
        using var request = new HttpRequestMessage(HttpMethod.Put, "/users/1") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Api-Key", key);
        using var response = await gateway.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task AnAdministrator_PutsAPortalApplicationOnAHiddenPlan_ItsKeyFollows_AndItsStateStays()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("tiers@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Partner");
        using var admin = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PortalHarness.AdminToken);
        Assert.Equal(HttpStatusCode.Forbidden, await WriteAsync(h, key)); // retail reads only

        // internal is hidden: no consumer can choose it, an administrator can give it.
        var (status, body) = await MoveAsync(admin, id, """{"plan":"internal"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"plan":"internal","state":"live"}""", body!.ToJsonString());
        await Wait.UntilAsync(async () => await WriteAsync(h, key) == HttpStatusCode.OK, "the key to follow its new plan at the gateway");
        var change = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/changes"))!["items"]![0]!;
        Assert.Equal(("move to plan internal", "admin-api", id), (change["action"]!.GetValue<string>(), change["actor"]!.GetValue<string>(), change["name"]!.GetValue<string>()));

        // Onto a plan that needs approval: the administrator's move is the approval, so it stays live.
        (status, body) = await MoveAsync(admin, id, """{"plan":"wholesale"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"plan":"wholesale","state":"live"}""", body!.ToJsonString());

        // No such plan, and a body that is not the one asked for: refused, nothing changed.
        (status, body) = await MoveAsync(admin, id, """{"plan":"gold"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("internal", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        (status, _) = await MoveAsync(admin, id, """{"plan":"retail","state":"live"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _) = await MoveAsync(admin, "app-nope", """{"plan":"retail"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        var listed = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/applications"))!["items"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
        Assert.Equal("wholesale", listed["plan"]!.GetValue<string>());
    }

    [Fact]
    public async Task OnTheConsole_AnAdministratorPutsAnApplicationOnAnotherPlan_FromItsPage()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("console-tiers@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Partner");
        using var console = await ConsoleTests.ConsoleAsync(h);

        // Every other plan but the anonymous one has its button, the hidden one too; its current plan has none.
        var page = await console.PageAsync($"/console/applications/{id}");
        Assert.Contains($"action=\"/console/applications/{id}/plan/internal\"", page, StringComparison.Ordinal);
        Assert.Contains($"action=\"/console/applications/{id}/plan/wholesale\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain($"action=\"/console/applications/{id}/plan/retail\"", page, StringComparison.Ordinal);

        using (var moved = await console.SubmitAsync($"/console/applications/{id}", $"/console/applications/{id}/plan/internal"))
        {
            Assert.Equal(HttpStatusCode.Redirect, moved.StatusCode);
        }

        await Wait.UntilAsync(async () => await WriteAsync(h, key) == HttpStatusCode.OK, "the key to follow its new plan at the gateway");
        var after = await console.PageAsync($"/console/applications/{id}");
        Assert.Contains("move to plan internal", after, StringComparison.Ordinal);
        Assert.Contains($"action=\"/console/applications/{id}/plan/retail\"", after, StringComparison.Ordinal);
    }
}
