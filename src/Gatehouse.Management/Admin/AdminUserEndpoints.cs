using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Management.Consumers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// Console users: <c>PUT /admin/users/{email}</c> <c>{ "password": "…", "role": "admin" | "viewer" }</c> creates or
/// replaces one (the password is kept only as a <c>PasswordHasher</c> hash and must follow the NIST rules),
/// <c>GET /admin/users</c> lists them (no hashes), <c>DELETE /admin/users/{email}</c> removes one,
/// <c>DELETE /admin/users/{email}/two-step</c> turns a user's two-step sign-in off (a replaced user keeps theirs), and
/// <c>GET</c>/<c>PUT /admin/console/settings</c> (<c>{ "twoStepRequired": true }</c>) requires it of every console user.
/// </summary>
internal static class AdminUserEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConsumerService consumers, AdminApiOptions options)
    {
        app.MapGet("/admin/users", async context =>
        {
            var users = await consumers.Store.ListAdminUsersAsync(context.RequestAborted).ConfigureAwait(false);
            var items = new JsonArray([.. users.Select(u => (JsonNode)new JsonObject
            {
                ["email"] = u.Email,
                ["role"] = u.Role == AdminRole.Admin ? "admin" : "viewer",
                ["createdAt"] = u.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                ["twoStep"] = u.TwoStep,
                ["recoveryCodesLeft"] = u.TwoStep ? u.RecoveryCodes?.Count ?? 0 : null,
            })]);
            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = items }).ConfigureAwait(false);
        });
        app.MapPut("/admin/users/{email}", context => PutAsync(context, consumers, options));
        app.MapDelete("/admin/users/{email}", async context =>
        {
            var email = ConsumerService.NormalizeEmail((string)context.Request.RouteValues["email"]!);
            if (!await consumers.Store.DeleteAdminUserAsync(email, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false))
            {
                await AdminProblem.NotFound($"Console user '{email}'").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["email"] = email, ["deleted"] = true }).ConfigureAwait(false);
        });
        app.MapPost("/admin/users/{email}/invite", context => InviteAsync(context, consumers, options));
        // For a user who lost their phone and their recovery codes: they sign in with the password alone and set it up again.
        app.MapDelete("/admin/users/{email}/two-step", async context =>
        {
            var email = ConsumerService.NormalizeEmail((string)context.Request.RouteValues["email"]!);
            if (!await consumers.Store.SetAdminUserTwoStepAsync(email, null, null, null, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false))
            {
                await AdminProblem.NotFound($"Console user '{email}'").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var user = await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["email"] = email, ["role"] = user?.Role == AdminRole.Viewer ? "viewer" : "admin", ["twoStep"] = user?.TwoStep ?? false,
            }).ConfigureAwait(false);
        });
        // The user's address was given to someone else at the single sign-on provider (or they have a new account
        // there): the next sign-in through the provider binds the user again, to whoever signs in with the address.
        app.MapDelete("/admin/users/{email}/sso", async context =>
        {
            var email = ConsumerService.NormalizeEmail((string)context.Request.RouteValues["email"]!);
            var done = await consumers.Store.UnlinkSsoAsync(Console.ConsoleEndpoints.InviteOwner(email), AdminCaller.Actor(context), "console-user", context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["email"] = email, ["released"] = done }).ConfigureAwait(false);
        });
        app.MapGet("/admin/console/settings", async context => await AdminRequests.WriteJsonAsync(context, await SettingsAsync(consumers, context.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        app.MapPut("/admin/console/settings", async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is null && (body!.Count == 0 || body.Any(e => e.Key != "twoStepRequired" || e.Value is not JsonValue v || !v.TryGetValue<bool>(out _))))
            {
                problem = AdminRequests.BadParameter("The body is { \"twoStepRequired\": true | false }.");
            }

            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await consumers.Store.SetLoggedSettingAsync(Console.ConsoleEndpoints.TwoStepRequiredSetting, body!["twoStepRequired"]!.GetValue<bool>() ? "true" : "false", AdminCaller.Actor(context), context.RequestAborted)
                .ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, await SettingsAsync(consumers, context.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false);
        });
    }

    // An invitation: the user made (with no usable password) or kept as they are, and a link at which they choose their
    // own password; answered here, and mailed to them when this process's portal sends mail.
    private static async Task InviteAsync(HttpContext context, ConsumerService consumers, AdminApiOptions options)
    {
        var email = ConsumerService.NormalizeEmail((string)context.Request.RouteValues["email"]!);
        JsonObject? body = null;
        AdminProblem? problem = null;
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        }

        var role = body?["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : null;
        problem ??= ConsumerService.CheckEmail(email)
            ?? (body?.Any(e => e.Key != "role") == true ? AdminRequests.BadParameter("The body may only hold 'role'.") : null)
            ?? (body?["role"] is not null && role is not "admin" and not "viewer" ? ConsumerService.Invalid("role", "'role' is 'admin' or 'viewer'.") : null);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (user, link, created) = await InviteAsync(consumers, options, email, role, AdminCaller.Actor(context), Console.ConsoleEndpoints.Origin(context), context.RequestAborted)
            .ConfigureAwait(false);
        var expires = options.Time.GetUtcNow() + Console.ConsoleEndpoints.InviteLifetime;
        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["email"] = email,
            ["role"] = user.Role == AdminRole.Admin ? "admin" : "viewer",
            ["created"] = created,
            ["link"] = link,
            ["expiresAt"] = options.Sso is { Only: true } ? null : expires.ToString("O", CultureInfo.InvariantCulture),
        }, created ? StatusCodes.Status201Created : StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary>
    /// Invites <paramref name="email"/> (checked): the user made with no usable password, or kept (with
    /// <paramref name="role"/> when given); the link under <paramref name="origin"/> (the address the administrator
    /// reached this listener at, from the socket: <see cref="Console.ConsoleEndpoints.Origin"/>) is returned and, when this
    /// process's portal sends mail, mailed to them.
    /// </summary>
    internal static async Task<(AdminUser User, string Link, bool Created)> InviteAsync(ConsumerService consumers, AdminApiOptions options, string email, string? role, string actor,
        string origin, CancellationToken cancellationToken)
    {
        var user = await consumers.Store.GetAdminUserAsync(email, cancellationToken).ConfigureAwait(false);
        var created = user is null;
        if (user is null || (role is not null && (role == "admin") != (user.Role == AdminRole.Admin)))
        {
            // A new user's password is a hash of 32 random bytes no one keeps: nothing signs in with it until the link is used.
            var hash = user?.PasswordHash ?? new PasswordHasher<object>().HashPassword(email, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
            await consumers.Store.UpsertAdminUserAsync(new AdminUser(email, hash, (role ?? "admin") == "admin" ? AdminRole.Admin : AdminRole.Viewer, user?.CreatedAt ?? options.Time.GetUtcNow()),
                actor, cancellationToken).ConfigureAwait(false);
            user = (await consumers.Store.GetAdminUserAsync(email, cancellationToken).ConfigureAwait(false))!;
        }

        if (options.Sso is { Only: true } sso)
        {
            // Only the provider signs console users in: no password to choose, so no link to choose it at; the user is
            // told where to sign in, and with what.
            var signIn = $"{origin}/console/login";
            consumers.Notify?.Invoke(new ConsumerNotice(ConsumerNoticeKind.ConsoleInviteSso, email, Link: signIn, Provider: sso.Name));
            return (user, signIn, created);
        }

        var link = $"{origin}/console/welcome/{await Console.ConsoleEndpoints.InviteAsync(consumers, user, cancellationToken).ConfigureAwait(false)}";
        consumers.Notify?.Invoke(new ConsumerNotice(ConsumerNoticeKind.ConsoleInvite, email, Link: link));
        return (user, link, created);
    }

    private static async Task<JsonObject> SettingsAsync(ConsumerService consumers, CancellationToken cancellationToken) => new()
    {
        ["twoStepRequired"] = await consumers.Store.GetSettingAsync(Console.ConsoleEndpoints.TwoStepRequiredSetting, cancellationToken).ConfigureAwait(false) == "true",
    };

    private static async Task PutAsync(HttpContext context, ConsumerService consumers, AdminApiOptions options)
    {
        var email = ConsumerService.NormalizeEmail((string)context.Request.RouteValues["email"]!);
        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        var password = body?["password"] is JsonValue p && p.TryGetValue<string>(out var text) ? text : null;
        var role = body?["role"] is JsonValue r && r.TryGetValue<string>(out var roleText) ? roleText : "admin";
        problem ??= ConsumerService.CheckEmail(email)
            ?? (body!.Any(e => e.Key is not "password" and not "role") ? AdminRequests.BadParameter("The body may only hold 'password' and 'role'.") : null)
            ?? (password is null ? ConsumerService.Invalid("password", "Give 'password': at least 12 characters.") : null)
            ?? (PasswordPolicy.Check(password!, email) is { } weak ? ConsumerService.Invalid("password", weak) : null)
            ?? (role is not "admin" and not "viewer" ? ConsumerService.Invalid("role", "'role' is 'admin' or 'viewer'.") : null);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var hash = new PasswordHasher<object>().HashPassword(email, password!);
        await consumers.Store.UpsertAdminUserAsync(new AdminUser(email, hash, role == "admin" ? AdminRole.Admin : AdminRole.Viewer, options.Time.GetUtcNow()), AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
        var stored = await consumers.Store.GetAdminUserAsync(email, context.RequestAborted).ConfigureAwait(false);
        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["email"] = email, ["role"] = role, ["twoStep"] = stored?.TwoStep ?? false }).ConfigureAwait(false);
    }
}
