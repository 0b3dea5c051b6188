using System.Diagnostics;
using System.Net;
using System.Text;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Loading;

namespace Gatehouse.Bench.Applies;

/// <summary>
/// 10,000 routes and 100,000 applications (each with a key) through the admin API: how long until a change is live,
/// i.e. until the admin API answers (it answers after the gateway applied the revision) and the gateway serves it.
/// Then the same one-route change made step by step with the pieces the admin API uses, to show where the time goes.
/// </summary>
internal static class ScaleBench
{
    private const string Key = "ghk_benchbenchbenchbenchbenchbench0000";

    public static async Task<int> RunAsync(int routes, int applications, int repeats)
    {
        await using var h = await Harness.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(h.GatewayUrl) };
        client.DefaultRequestHeaders.Add("X-Api-Key", Key);

        var document = Document(h.BackendUrl, routes, applications, changed: -1);
        Console.WriteLine($"config: {routes:N0} routes, {applications:N0} applications, {document.Length / 1e6:F1} MB of JSON");
        var time = Stopwatch.StartNew();
        var (status, text) = await h.SendAsync(HttpMethod.Post, "/admin/config", document);
        Check(status, text);
        Console.WriteLine($"POST /admin/config into an empty store (creates every resource): {time.ElapsedMilliseconds} ms; gateway compile {Compiled(h)} ms");
        await ServedAsync(client, "/r5/1/items/x");

        for (var i = 1; i <= repeats; i++)
        {
            time.Restart();
            await h.PutOkAsync("/admin/routes/r5", $$"""{"path":"/r5-v{{i}}/{id}/items/{**rest}","service":"bench"}""");
            var answered = time.ElapsedMilliseconds;
            await ServedAsync(client, $"/r5-v{i}/1/items/x");
            Console.WriteLine($"PUT /admin/routes/r5 #{i}: answered (applied) in {answered} ms, served by the gateway at {time.ElapsedMilliseconds} ms; gateway compile {Compiled(h)} ms");
        }

        for (var i = 1; i <= repeats; i++)
        {
            document = Document(h.BackendUrl, routes, applications, changed: i);
            time.Restart();
            (status, text) = await h.SendAsync(HttpMethod.Post, "/admin/config", document);
            Check(status, text);
            var answered = time.ElapsedMilliseconds;
            await ServedAsync(client, $"/r7-w{i}/1/items/x");
            Console.WriteLine($"POST /admin/config with one route changed #{i}: answered (applied) in {answered} ms, served at {time.ElapsedMilliseconds} ms; gateway compile {Compiled(h)} ms");
        }

        for (var i = 1; i <= repeats; i++)
        {
            await StagesAsync(h, i); // commits behind the running process's back, so it runs last
        }

        return 0;
    }

    // The steps of ConfigChanges for one changed route, timed one by one (same store, same loader, same gateway).
    private static async Task StagesAsync(Harness h, int i)
    {
        var t = Stopwatch.StartNew();
        var revision = await h.Store.CurrentRevisionAsync();
        var rows = await h.Store.ReadAsync(revision);
        var read = t.ElapsedMilliseconds;

        t.Restart();
        var candidate = rows.ToDictionary(r => (r.Kind, r.Name));
        var body = $$"""{"path":"/r9-s{{i}}/{id}/items/{**rest}","service":"bench"}""";
        candidate[("route", "r9")] = new StoredResource("route", "r9", body, revision + 1);
        var text = ConfigDocument.Compose(candidate.Values
            .OrderBy(r => r.Kind, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new ConfigResource(r.Kind, r.Name, r.Body)));
        var compose = t.ElapsedMilliseconds;

        t.Restart();
        var loaded = ConfigLoader.Load(text, h.Directory, _ => null);
        var load = t.ElapsedMilliseconds;
        if (!loaded.IsValid)
        {
            throw new InvalidOperationException(string.Join("; ", loaded.Errors));
        }

        t.Restart();
        var commit = await h.Store.CommitAsync([new ResourceChange("route", "r9", body)], revision, "bench", "stage timing");
        var committed = t.ElapsedMilliseconds;
        if (commit.Conflict)
        {
            throw new InvalidOperationException("stage run conflicted");
        }

        Console.WriteLine($"whole-document stages (what every change cost before the incremental loader) #{i}: read {rows.Count:N0} rows {read} ms | compose {compose} ms | load+validate {load} ms | commit {committed} ms (the gateway's compile: see above)");
    }

    // The gatehouse process's own figures for the last apply: its "compiled in" (the gateway) and ConfigChanges' timings.
    private static string Compiled(Harness h)
    {
        string? compiled = null;
        for (var wait = 0; wait < 50 && compiled is null; wait++)
        {
            var line = h.Log.LastOrDefault(l => l.Contains("compiled in ", StringComparison.Ordinal));
            if (line is not null)
            {
                compiled = line[(line.LastIndexOf("compiled in ", StringComparison.Ordinal) + 12)..].Split(' ')[0];
            }
            else
            {
                Thread.Sleep(20);
            }
        }

        foreach (var timings in h.Log.Where(l => l.Contains("resources before)", StringComparison.Ordinal)))
        {
            Console.WriteLine("  gatehouse: " + timings[(timings.IndexOf("Revision", StringComparison.Ordinal))..]);
        }

        h.Log.Clear();
        return compiled ?? "?";
    }

    private static void Check(int status, string text)
    {
        if (status != 200 || System.Text.Json.Nodes.JsonNode.Parse(text)?["applied"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"POST /admin/config: {status} {text[..Math.Min(text.Length, 2000)]}");
        }
    }

    private static async Task ServedAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    // The shape of bench/run.sh's SCALE=1 config: one catch-all route, N more, a plan over everything, an application
    // with the bench key and M more, each with its own key hash.
    internal static string Document(string backendUrl, int routes, int applications, int changed)
    {
        var sb = new StringBuilder(32 * 1024 * 1024);
        sb.Append("{\"version\":1,\"services\":{\"bench\":{\"targets\":[\"").Append(backendUrl).Append("\"]}},\"routes\":{");
        sb.Append("\"all\":{\"path\":\"/{**rest}\",\"service\":\"bench\"}");
        for (var i = 0; i < routes; i++)
        {
            var path = i == 7 && changed > 0 ? $"/r7-w{changed}" : $"/r{i}";
            sb.Append(",\"r").Append(i).Append("\":{\"path\":\"").Append(path).Append("/{id}/items/{**rest}\",\"service\":\"bench\"}");
        }

        var benchSha = Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(Key);
        sb.Append("},\"plans\":{\"bench\":{\"include\":[{\"path\":\"/**\"}]}},\"accounts\":{\"bench\":{}},\"applications\":{");
        sb.Append("\"bench-app\":{\"account\":\"bench\",\"plan\":\"bench\",\"keys\":[{\"sha256\":\"").Append(benchSha).Append("\"}]}");
        for (var i = 0; i < applications; i++)
        {
            sb.Append(",\"app").Append(i).Append("\":{\"account\":\"bench\",\"plan\":\"bench\",\"keys\":[{\"sha256\":\"").Append((i + 1).ToString("x64")).Append("\"}]}");
        }

        return sb.Append("}}").ToString();
    }
}
