using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Console;

// The revisions and the audit log, newest first, a page at a time back to the first: each page's "older" link carries the
// cursor (the number below which the next page starts), as the admin API's 'next' does. The audit page's two tables page
// apart, each link keeping the other table's cursor.
internal static partial class ConsoleEndpoints
{
    private static async Task RevisionsAsync(HttpContext context, ConfigChanges changes)
    {
        if (!Cursor(context, "before", out var before))
        {
            await BadCursorAsync(context, "before", "/console/revisions").ConfigureAwait(false);
            return;
        }

        var found = await changes.Store.ListRevisionsAsync(before, PageSize + 1, context.RequestAborted).ConfigureAwait(false);
        var revisions = found.Take(PageSize).ToList();
        var current = await changes.Store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false);
        await Render(context, "Revisions",
            new ConsoleTable("Config revisions, newest first (consumer sign-ups, applications and keys are not revisions: see the audit log)", ["Revision", "When", "Who", "What"],
                [.. revisions.Select(r => new ConsoleRow([r.Number.ToString(CultureInfo.InvariantCulture), Time(r.CreatedAt), r.Actor, r.Summary],
                    r.Number == current ? [] : [new($"Roll back to {r.Number}", $"/console/revisions/{r.Number}/rollback", true)],
                    r.Number > 1 ? $"/console/revisions/{r.Number - 1}/diff/{r.Number}" : null))],
                before is null ? "No revision yet." : "No older revision.",
                found.Count > PageSize ? new ConsoleLink("Older revisions", $"/console/revisions?before={revisions[^1].Number.ToString(CultureInfo.InvariantCulture)}") : null)).ConfigureAwait(false);
    }

    private static async Task AuditAsync(HttpContext context, ConfigChanges changes, ConsumerService consumers)
    {
        if (!Cursor(context, "consumerBefore", out var consumerBefore) || !Cursor(context, "configBefore", out var configBefore))
        {
            await BadCursorAsync(context, Cursor(context, "consumerBefore", out _) ? "configBefore" : "consumerBefore", "/console/audit").ConfigureAwait(false);
            return;
        }

        var consumerFound = await consumers.Store.ListConsumerChangesAsync(consumerBefore, PageSize + 1, context.RequestAborted).ConfigureAwait(false);
        var configFound = await changes.Store.ListAuditAsync(configBefore, PageSize + 1, context.RequestAborted).ConfigureAwait(false);
        var consumer = consumerFound.Take(PageSize).ToList();
        var config = configFound.Take(PageSize).ToList();
        static string? Text(long? value) => value?.ToString(CultureInfo.InvariantCulture);
        await Render(context, "Audit log",
            new ConsoleTable("Consumer changes (accounts, applications, keys), newest first", ["#", "When", "Who", "Action", "What"],
                [.. consumer.Select(c => new ConsoleRow([c.Seq.ToString(CultureInfo.InvariantCulture), Time(c.At), c.Actor, c.Action, $"{c.Kind} {c.Name}"], []))],
                consumerBefore is null ? "No consumer change yet." : "No older consumer change.",
                consumerFound.Count > PageSize ? new ConsoleLink("Older consumer changes", Link("/console/audit", [("consumerBefore", Text(consumer[^1].Seq)), ("configBefore", Text(configBefore))])) : null),
            new ConsoleTable("Config changes, newest first", ["Revision", "When", "Who", "Action", "What"],
                [.. config.Select(a => new ConsoleRow([a.Revision.ToString(CultureInfo.InvariantCulture), Time(a.At), a.Actor, a.Action, $"{a.Kind} {a.Name}"], []))],
                configBefore is null ? "No config change yet." : "No older config change.",
                configFound.Count > PageSize ? new ConsoleLink("Older config changes", Link("/console/audit", [("consumerBefore", Text(consumerBefore)), ("configBefore", Text(config[^1].Id))])) : null)).ConfigureAwait(false);
    }

    // A page's cursor: absent, or a whole number (what the page's own links carry).
    private static bool Cursor(HttpContext context, string name, out long? value)
    {
        var text = context.Request.Query[name].ToString();
        value = null;
        if (text.Length == 0)
        {
            return true;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }

        value = parsed;
        return true;
    }

    private static Task BadCursorAsync(HttpContext context, string name, string back) =>
        WebRender.ProblemAsync(context, Page(context, "Not done"), StatusCodes.Status400BadRequest,
            $"'{name}' is a whole number: the page's own \"older\" link carries it. Start again from the newest.", back);
}
