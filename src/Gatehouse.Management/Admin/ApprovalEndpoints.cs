using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// <c>POST /admin/applications/{id}/approve</c> (pending → live) and <c>/reject</c> (pending → suspended, so the
/// application, its keys and its history stay, and an administrator can still make it live with a PUT). Also the
/// admin API's default state: an application created with PUT on a plan with <c>approvalRequired</c> and no
/// <c>state</c> starts <c>pending</c>.
/// </summary>
internal static class ApprovalEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes)
    {
        app.MapPost("/admin/applications/{name}/approve", context => DecideAsync(context, changes, "live", "approve"));
        app.MapPost("/admin/applications/{name}/reject", context => DecideAsync(context, changes, "suspended", "reject"));
    }

    /// <summary>
    /// The body to store for a PUT of application <paramref name="name"/>: as sent, or with <c>"state": "pending"</c>
    /// added when it creates the application, gives no state, and its plan requires approval. A config file's
    /// applications default to <c>live</c> (the loader's rule); this default is the admin API's alone.
    /// </summary>
    public static string WithDefaultState(IReadOnlyDictionary<(string Kind, string Name), StoredResource> current, string name, string body)
    {
        if (current.ContainsKey((ResourceKinds.Application, name))
            || JsonNode.Parse(body) is not JsonObject application
            || application.ContainsKey("state")
            || application["plan"] is not JsonValue plan
            || !plan.TryGetValue<string>(out var planName)
            || !current.TryGetValue((ResourceKinds.Plan, planName), out var planResource)
            || JsonNode.Parse(planResource.Body) is not JsonObject planBody
            || planBody["approvalRequired"] is not JsonValue required
            || !required.TryGetValue<bool>(out var approval)
            || !approval)
        {
            return body;
        }

        application["state"] = "pending";
        return ConfigDocument.Write(application);
    }

    private static async Task DecideAsync(HttpContext context, ConfigChanges changes, string state, string verb)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var outcome = await DecideAsync(changes, name, state, verb, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
        await ResourceEndpoints.WriteOutcomeAsync(
            context, changes, outcome, ResourceKinds.Application, name, StatusCodes.Status200OK, new JsonObject { ["state"] = state }).ConfigureAwait(false);
    }

    /// <summary>Approves (<paramref name="state"/> live) or rejects (suspended) a pending config application; the console calls this too.</summary>
    public static Task<ChangeOutcome> DecideAsync(ConfigChanges changes, string name, string state, string verb, string actor, CancellationToken cancellationToken) =>
        changes.ChangeAsync(
            current =>
            {
                if (!current.TryGetValue((ResourceKinds.Application, name), out var existing)
                    || JsonNode.Parse(existing.Body) is not JsonObject application)
                {
                    return ChangePlan.Refuse(AdminProblem.NotFound($"application '{name}'"));
                }

                var now = application["state"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "live";
                if (now != "pending")
                {
                    return ChangePlan.Refuse(new AdminProblem(
                        StatusCodes.Status409Conflict,
                        "application-not-pending",
                        "Application is not pending",
                        $"application '{name}' is '{now}', not 'pending'; only a pending application can be approved or rejected. To change its state otherwise, PUT it with the state you want."));
                }

                application["state"] = state;
                return new ChangePlan([new ResourceChange(ResourceKinds.Application, name, ConfigDocument.Write(application))]);
            },
            actor,
            $"{verb} application {name}",
            cancellationToken);
}
