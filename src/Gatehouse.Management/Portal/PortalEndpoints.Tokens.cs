using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal.Pages;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

// A consumer's API tokens for the portal's JSON API: made and revoked here only (a token cannot make another), behind
// the same gate as the applications' pages (signed in, and two-step sign-in where the portal requires it).
internal static partial class PortalEndpoints
{
    private static void MapTokens(IEndpointRouteBuilder app, PortalContext portal)
    {
        app.MapGet("/tokens", context => Gated(context, portal, account => TokensAsync(context, portal, account, StatusCodes.Status200OK)));
        app.MapPost("/tokens", context => Gated(context, portal, account => CreateTokenAsync(context, portal, account)));
        app.MapPost("/tokens/{name}/revoke", context => Gated(context, portal, account => RevokeTokenAsync(context, portal, account, Route(context, "name"))));
    }

    private static async Task TokensAsync(HttpContext context, PortalContext portal, ConsumerAccount account, int status, string? notice = null, string? newToken = null,
        string? error = null, string? name = null, string? scope = null) =>
        await WebRender.PageAsync<TokensPage>(context, new
        {
            Page = Page(context, "API tokens", notice),
            Tokens = await portal.Consumers.Store.ListPortalTokensAsync(account.Id, context.RequestAborted).ConfigureAwait(false),
            Now = portal.Consumers.Time.GetUtcNow(),
            Enabled = await portal.Consumers.ApiTokensAsync(context.RequestAborted).ConfigureAwait(false),
            NewToken = newToken,
            Error = error,
            Name = name,
            Scope = scope,
            Origin = portal.Links.Base ?? "",
        }, status).ConfigureAwait(false);

    private static async Task CreateTokenAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WebRender.ProblemAsync(context, Page(context, "API tokens"), status, error!, "/tokens").ConfigureAwait(false);
            return;
        }

        if (!KeyLifetimes.TryGetValue(form.Field("expires"), out var lifetime))
        {
            await TokensAsync(context, portal, account, StatusCodes.Status422UnprocessableEntity, error: "Choose when the token expires from the list.",
                name: form.Field("name"), scope: form.Field("scope")).ConfigureAwait(false);
            return;
        }

        var (token, info, problem) = await portal.Consumers.CreateTokenAsync(account, form.Field("name"), form.Field("scope"), lifetime, Actor(account), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            await TokensAsync(context, portal, account, problem.Status, error: problem.Detail, name: form.Field("name"), scope: form.Field("scope")).ConfigureAwait(false);
            return;
        }

        await TokensAsync(context, portal, account, StatusCodes.Status201Created, $"Token {info!.Name} made.", token).ConfigureAwait(false);
    }

    private static async Task RevokeTokenAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string name)
    {
        var (form, status, error) = await WebForms.ReadAsync(context).ConfigureAwait(false);
        if (form is not null && !await SureAsync(context, form, AskRevokeToken(context, portal, account, name), () => Task.FromResult("/tokens")).ConfigureAwait(false))
        {
            return;
        }

        var problem = form is null ? null : await portal.Consumers.RevokeTokenAsync(account.Id, name, Actor(account), context.RequestAborted).ConfigureAwait(false);
        if (form is null || problem is not null)
        {
            await WebRender.ProblemAsync(context, Page(context, "Not done"), problem?.Status ?? status, problem?.Detail ?? error!, "/tokens").ConfigureAwait(false);
            return;
        }

        await TokensAsync(context, portal, account, StatusCodes.Status200OK, $"Token {name} revoked: it no longer works.").ConfigureAwait(false);
    }
}
