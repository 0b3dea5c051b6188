using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Compiles one composition: binds each step to its service and path, compiles every reference and template,
/// infers dependencies from references and orders the steps. Reports every problem with its config path.
/// </summary>
public static class CompositionCompiler
{
    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>Compiles <paramref name="composition"/>; null when it has errors (all added to <paramref name="errors"/> as (path, message)).</summary>
    /// <remarks>
    /// <paramref name="mayBeLost"/> says which operation ids may be missing because of an error already reported (an
    /// OpenAPI document that could not be read); steps calling them are not reported again.
    /// </remarks>
    public static CompiledComposition? Compile(string id, CompositionConfig composition, GatehouseConfig config, OperationIndex operations, List<(string Path, string Message)> errors,
        Func<string, bool>? mayBeLost = null)
    {
        var before = errors.Count;
        var at = $"compositions.{id}";
        void Error(string path, string message) => errors.Add((path, message));

        if (!Methods.Contains(composition.Method))
        {
            Error($"{at}.method", $"'{composition.Method}' is not a method a composition serves; use one of {string.Join(", ", Methods)}.");
        }

        var path = PathTemplate.TryParse(composition.Path, out var pathError);
        if (path is null)
        {
            Error($"{at}.path", pathError ?? "not a path template.");
        }

        var routeParams = path?.ParameterNames.ToHashSet(StringComparer.Ordinal) ?? [];
        if (composition.Steps.Count == 0)
        {
            Error($"{at}.steps", "a composition needs at least one step, e.g. 'user: { operation: users.getUser, params: { id: \"@request.path.id\" } }'.");
        }

        if (composition.Deadline <= TimeSpan.Zero)
        {
            Error($"{at}.deadline", "must be longer than 0s.");
        }

        if (composition.MaxBodySize is < 1 or > int.MaxValue)
        {
            Error($"{at}.maxBodySize", "must be between 1 byte and 2GB.");
        }

        if (composition.MaxDepth > 1000)
        {
            Error($"{at}.maxDepth", "must be at most 1000.");
        }

        var names = composition.Steps.Keys.ToList();
        var compiler = new TemplateCompiler(names, Error);
        var steps = new List<CompiledStep>();
        var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (name, step) in composition.Steps)
        {
            var sp = $"{at}.steps.{name}";
            if (name is "request" or "this" or "item")
            {
                Error(sp, $"'{name}' is a reserved name in references; call the step something else.");
            }

            var used = new HashSet<string>(StringComparer.Ordinal);
            var compiled = CompileStep(name, names.IndexOf(name), step, sp, config, operations, compiler, routeParams, used,
                (path, message) => { if (!(step.Operation is { } op && path == $"{sp}.operation" && mayBeLost?.Invoke(op) == true)) Error(path, message); });
            deps[name] = used;
            if (compiled is not null)
            {
                steps.Add(compiled);
            }
        }

        // Every request value referenced must exist: a path parameter of the composition's route.
        var responseUsed = new HashSet<string>(StringComparer.Ordinal);
        var response = composition.Response is null
            ? new ObjectTemplate([.. names.Select(n => new KeyValuePair<string, Template>(n, new RefTemplate(new ValueRef($"@{n}.body", n, [new RefSegment(RefSegmentKind.Field, "body", 0)]))))])
            : compiler.Compile(composition.Response, $"{at}.response", [], responseUsed);

        var order = Order(names, deps, at, Error);
        if (errors.Count > before || path is null || order is null || steps.Count != names.Count)
        {
            return null;
        }

        var byName = steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var ordered = order.Select((n, i) => byName[n] with { Index = i }).ToList();
        var index = ordered.ToDictionary(s => s.Name, s => s.Index, StringComparer.Ordinal);
        ordered = [.. ordered.Select(s => s with { Dependencies = [.. deps[s.Name].Select(d => index[d]).Order()] })];
        CheckRequestPaths(ordered, response, routeParams, at, Error);
        var headerReaders = HeaderReaders(ordered, response);
        ordered = [.. ordered.Select(s => s with { ReadsHeaders = headerReaders.Contains(s.Name) })];
        return errors.Count > before ? null : new CompiledComposition(id, composition.OperationIdOf(id), composition, path, ordered, response);
    }

    private static CompiledStep? CompileStep(string name, int index, CompositionStepConfig step, string sp, GatehouseConfig config, OperationIndex operations,
        TemplateCompiler compiler, HashSet<string> routeParams, HashSet<string> used, Action<string, string> error)
    {
        string? service = null;
        string? method = null;
        string? template = null;
        if (step.Operation is { } op)
        {
            if (step.Service is not null || step.Path is not null || step.Method is not null)
            {
                error(sp, "a step calls an 'operation', or a 'service' with 'method' and 'path'; not both.");
            }
            else if (!operations.TryGet(op, out var svc, out var operation))
            {
                error($"{sp}.operation", $"there is no operation '{op}'.{(Loading.YamlBinder.Suggest(op, operations.Ids) is { } s ? $" Did you mean '{s}'?" : "")}");
            }
            else
            {
                (service, method, template) = (svc, operation.Method.ToUpperInvariant(), operation.Path);
            }
        }
        else if (step.Service is { } svc)
        {
            if (!config.Services.ContainsKey(svc))
            {
                error($"{sp}.service", $"there is no service '{svc}'.{(Loading.YamlBinder.Suggest(svc, config.Services.Keys) is { } s ? $" Did you mean '{s}'?" : "")}");
            }
            else if (step.Path is null)
            {
                error($"{sp}.path", "'path' is required with 'service': the path template on the service, e.g. '/users/{id}'.");
            }
            else
            {
                (service, method, template) = (svc, step.Method ?? "GET", step.Path);
                if (!Methods.Contains(method))
                {
                    error($"{sp}.method", $"'{method}' is not an HTTP method; use one of {string.Join(", ", Methods)}.");
                }
            }
        }
        else
        {
            error(sp, "a step needs 'operation' (an operation id) or 'service' and 'path'.");
        }

        PathTemplate? path = null;
        if (template is not null)
        {
            path = PathTemplate.TryParse(template, out var pathError);
            if (path is null)
            {
                error($"{sp}.path", pathError ?? "not a path template.");
            }
        }

        var scope = step.ForEach is null ? new List<string>() : ["item"];
        ValueRef? forEach = null;
        if (step.ForEach is { } fe)
        {
            forEach = compiler.Reference(fe, $"{sp}.forEach", [], used);
        }
        else
        {
            if (step.Batch is not null)
            {
                error($"{sp}.batch", "'batch' goes with 'forEach'.");
            }
        }

        if (step.Batch is { } batch && (batch.Separator.Length == 0 || batch.Separator.Any(c => !(char.IsAsciiLetterOrDigit(c) || ",;|-_.~".Contains(c)))))
        {
            error($"{sp}.batch.separator", "the separator must be one or more of letters, digits or , ; | - _ . ~ so it needs no encoding.");
        }

        var parameters = new Dictionary<string, Template>(StringComparer.Ordinal);
        foreach (var (p, value) in step.Params)
        {
            if (path is not null && !path.ParameterNames.Contains(p))
            {
                error($"{sp}.params.{p}", $"the path '{template}' has no parameter '{p}'.");
            }

            parameters[p] = compiler.CompileValue(value, $"{sp}.params.{p}", scope, used);
        }

        foreach (var p in path?.ParameterNames ?? [])
        {
            if (!step.Params.ContainsKey(p))
            {
                error($"{sp}.params", $"the path '{template}' needs a value for '{p}'; add 'params: {{ {p}: \"@request.path.{p}\" }}' or similar.");
            }
        }

        var query = step.Query.Select(q => new KeyValuePair<string, Template>(q.Key, compiler.CompileValue(q.Value, $"{sp}.query.{q.Key}", scope, used))).ToList();
        var headers = new List<KeyValuePair<string, Template>>();
        foreach (var (h, value) in step.Headers)
        {
            if (h.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) || h.Equals("Host", StringComparison.OrdinalIgnoreCase) || h.StartsWith("Gatehouse-", StringComparison.OrdinalIgnoreCase))
            {
                error($"{sp}.headers.{h}", $"'{h}' cannot be set by a step; use a header name of letters, digits and '-', not Host or Gatehouse-*.");
            }

            headers.Add(new(h, compiler.CompileValue(value, $"{sp}.headers.{h}", scope, used)));
        }

        var body = step.Body is null ? null : compiler.Compile(step.Body, $"{sp}.body", scope, used);
        if (step.Concurrency < 1)
        {
            error($"{sp}.concurrency", "must be at least 1.");
        }

        if (step.Timeout is { } t && t <= TimeSpan.Zero)
        {
            error($"{sp}.timeout", "must be longer than 0s.");
        }

        foreach (var (from, to) in step.StatusMap)
        {
            if (from is < 100 or > 599 || to is < 100 or > 599)
            {
                error($"{sp}.statusMap.{from}", "map one HTTP status (100-599) to another, e.g. 404: 404.");
            }
        }

        if (used.Contains(name))
        {
            error(sp, $"step '{name}' refers to itself; a step can only use steps that finish before it.");
        }

        return service is null || path is null || method is null
            ? null
            : new CompiledStep(name, index, step, service, method, path, parameters, query, headers, body, forEach, []);
    }

    /// <summary>Steps in an order where each comes after every step it references; null (and an error) on a cycle.</summary>
    private static List<string>? Order(List<string> names, Dictionary<string, HashSet<string>> deps, string at, Action<string, string> error)
    {
        var order = new List<string>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new List<string>();
        var ok = true;

        void Visit(string n)
        {
            if (state.GetValueOrDefault(n) == 2 || !ok)
            {
                return;
            }

            if (state.GetValueOrDefault(n) == 1)
            {
                var cycle = stack.Skip(stack.IndexOf(n)).Append(n);
                error($"{at}.steps.{n}", $"steps reference each other in a cycle ({string.Join(" → ", cycle)}), so none can start; remove one of the references.");
                ok = false;
                return;
            }

            state[n] = 1;
            stack.Add(n);
            foreach (var d in deps[n].Where(d => d != n && deps.ContainsKey(d)).Order(StringComparer.Ordinal))
            {
                Visit(d);
            }

            stack.RemoveAt(stack.Count - 1);
            state[n] = 2;
            order.Add(n);
        }

        foreach (var n in names)
        {
            Visit(n);
        }

        return ok ? order : null;
    }

    /// <summary>'@request.path.x' must name a parameter of the composition's path; '.body' must come from a step that can return JSON.</summary>
    private static void CheckRequestPaths(List<CompiledStep> steps, Template response, HashSet<string> routeParams, string at, Action<string, string> error)
    {
        var byName = steps.ToDictionary(s => s.Name, StringComparer.Ordinal);
        void Check(ValueRef r, string path)
        {
            if (r.Root == "request" && r.Segments[0].Name == "path" && !routeParams.Contains(r.Segments[1].Name))
            {
                error(path, $"'{r.Text}': the composition's path has no parameter '{r.Segments[1].Name}'.");
            }

            if (byName.TryGetValue(r.Root, out var s) && r.Segments[0].Name == "body" && s.Method == "HEAD")
            {
                error(path, $"'{r.Text}': step '{s.Name}' is a HEAD request, which returns no body to read JSON from.");
            }
        }

        foreach (var s in steps)
        {
            var sp = $"{at}.steps.{s.Name}";
            if (s.ForEach is { } fe)
            {
                Check(fe, $"{sp}.forEach");
            }

            foreach (var (k, t) in s.Params)
            {
                Walk(t, r => Check(r, $"{sp}.params.{k}"));
            }

            foreach (var (k, t) in s.Query)
            {
                Walk(t, r => Check(r, $"{sp}.query.{k}"));
            }

            foreach (var (k, t) in s.Headers)
            {
                Walk(t, r => Check(r, $"{sp}.headers.{k}"));
            }

            if (s.Body is { } body)
            {
                Walk(body, r => Check(r, $"{sp}.body"));
            }
        }

        Walk(response, r => Check(r, $"{at}.response"));
    }

    /// <summary>The steps whose headers some reference reads: <c>@step.headers…</c>, or <c>@step</c> as a whole.</summary>
    private static HashSet<string> HeaderReaders(IReadOnlyList<CompiledStep> steps, Template response)
    {
        var readers = new HashSet<string>(StringComparer.Ordinal);
        void Visit(ValueRef r)
        {
            if (r.Segments.Count == 0 || r.Segments[0] is { Kind: RefSegmentKind.Field, Name: "headers" })
            {
                readers.Add(r.Root);
            }
        }

        foreach (var s in steps)
        {
            if (s.ForEach is { } fe)
            {
                Visit(fe);
            }

            foreach (var t in s.Params.Values.Concat(s.Query.Select(q => q.Value)).Concat(s.Headers.Select(h => h.Value)))
            {
                Walk(t, Visit);
            }

            if (s.Body is { } body)
            {
                Walk(body, Visit);
            }
        }

        Walk(response, Visit);
        return readers;
    }

    /// <summary>Calls <paramref name="visit"/> with every reference in <paramref name="t"/>.</summary>
    public static void Walk(Template t, Action<ValueRef> visit)
    {
        switch (t)
        {
            case RefTemplate r: visit(r.Ref); break;
            case ArrayTemplate a: a.Items.ToList().ForEach(i => Walk(i, visit)); break;
            case ObjectTemplate o: o.Fields.ToList().ForEach(f => Walk(f.Value, visit)); break;
            case EachTemplate e: Walk(e.Source, visit); Walk(e.Element, visit); break;
            case LookupTemplate l: Walk(l.Source, visit); Walk(l.By, visit); break;
            case MergeTemplate m: m.Parts.ToList().ForEach(p => Walk(p, visit)); break;
            case SumTemplate s: Walk(s.Source, visit); break;
            case ConversionTemplate c: Walk(c.Source, visit); break;
            case ShapeTemplate sh: Walk(sh.Base, visit); sh.Extra.ToList().ForEach(f => Walk(f.Value, visit)); break;
        }
    }
}
