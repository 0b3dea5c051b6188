using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Compositions;

/// <summary>
/// The composition template evaluator (#4): over JsonDocuments it writes, byte for byte, the answers the gateway has
/// always given (kept in ElementEvaluatorTests.Expected.cs), and fails where those failed.
/// </summary>
public sealed partial class ElementEvaluatorTests
{
    private const string A = """
        {"id":7,"name":"Ann \u00e9\"q\n","tags":["x","y"],"n":null,"price":"3","t":true,
         "nested":{"k":[1,2.50,1e400,-0,12345678901234567890123456789012345,0.1]},"é":"accent"}
        """;

    private const string B = """
        [{"id":1,"items":[{"productId":5,"quantity":2},{"productId":"6","quantity":1},{"productId":9,"quantity":3}]},
         {"id":2,"items":[]},{"id":3},null,{"id":"4","items":[{"productId":true,"quantity":1.5}]}]
        """;

    private const string C = """
        [{"id":5,"name":"A","price":1.5,"secret":1},{"id":"6","name":"B","price":10},{"id":6,"name":"dup","price":99},
         {"name":"noid","price":2},{"id":null,"name":"nullid"},{"id":true,"name":"T","price":0.25},7,"s",[1]]
        """;

    /// <summary>Step bodies per case: every step, one missing, all missing, and bodies of other kinds than expected.</summary>
    public static TheoryData<string, string?, string?, string?> Inputs => new()
    {
        { "all", A, B, C },
        { "c missing", A, B, null },
        { "all missing", null, null, null },
        { "other kinds", "[1,2]", "\"s\"", "5" },
        { "null bodies", "null", "null", "null" },
        { "swapped", C, A, B },
    };

    private static readonly string[] Templates =
    [
        "{ x: '@a.body' }",
        "{ x: '@a.body.name', y: '@a.body.nested.k[1]', z: '@a.body.tags[5]', w: '@a.body.n', v: '@a.body.missing', u: '@a.body.é', i: '@a.body[0]' }",
        "{ ids: '@b.body[*].items[*].productId', all: '@b.body[*].id', none: '@a.body[*].x', nums: '@a.body.nested.k[*]' }",
        "{ s: text, n: 12, f: 2.5, t: true, nul: null, lit: '@@at', arr: [1, two, '@a.body.id', [], {}], big: 12345678901234567890, neg: -3 }",
        "{ status: '@a.status', h: '@a.headers.x-trace', hs: '@a.headers', id: '@request.path.id', q: '@request.query.nope' }",
        "{ orders: { '@each': '@b.body', id: '@item.id', count: '@item.items[0].quantity' } }",
        """
        { user: '@a.body', orders: { '@each': '@b.body', '@as': order, id: '@order.id',
            items: { '@each': '@order.items', '@value': '@item', product: { '@lookup': '@c', '@by': '@item.productId', '@select': [id, name, price] } },
            total: { '@sum': '@this.items', '@of': [quantity, product.price] } } }
        """,
        "{ p5: { '@lookup': '@c.body', '@by': 5 }, p6: { '@lookup': '@c.body', '@by': '6' }, pn: { '@lookup': '@c.body', '@by': null }, pt: { '@lookup': '@c.body', '@by': true }, px: { '@lookup': '@c.body', '@by': '@a.body.price' } }",
        "{ byName: { '@lookup': '@c.body', '@by': B, '@key': name }, byPrice: { '@lookup': '@c.body', '@by': 1.5, '@key': price }, missing: { '@lookup': '@c.body', '@by': 404 } }",
        "{ wild: { '@lookup': '@b.body[*].items[*]', '@by': 9, '@key': productId }, built: { '@lookup': ['@c.body[0]', { id: 42, v: 1 }], '@by': 42 } }",
        "{ o: { '@each': '@b.body', '@as': o, first: { '@lookup': '@o.items', '@by': 5, '@key': productId }, again: { '@lookup': '@o.items', '@by': '6', '@key': productId } } }",
        "{ byObject: { '@lookup': '@c.body', '@by': '@a.body.tags', '@key': tags }, byWild: { '@lookup': '@c.body', '@by': '@b.body[*].id' } }",
        "{ m: { '@merge': ['@a.body', { id: 99, extra: 1 }, '@c.body', '@c.body[0]', null, '@a.body.tags'] }, e: { '@merge': [] } }",
        "{ t: { '@sum': '@b.body[0].items', '@of': [quantity] }, w: { '@sum': '@b.body[*].items[*]', '@of': [quantity, productId] }, e: { '@sum': '@a.body.nested.k', '@of': [x] }, n: { '@sum': '@a.body.missing', '@of': [x] } }",
        "{ p: { '@sum': '@c.body', '@of': [price] }, s: { '@sum': [{ a: 1.10 }, { a: 2 }, { a: '3' }, { a: '@a.status' }], '@of': [a] } }",
        "{ s: { '@value': '@a.body', '@select': [name, id, missing, id] }, o: { '@value': '@a.body', '@omit': [tags, nested] }, r: { '@value': '@a.body', '@rename': { id: ident, name: id } } }",
        "{ x: { '@value': '@a.body', '@select': [id, name], id: replaced, more: '@this.id', name2: '@this.name' }, y: { '@value': '@a.body', '@rename': { id: name } } }",
        "{ s: { '@value': '@a.body.tags', '@select': [x] }, n: { '@value': '@a.body.n', '@omit': [x] }, w: { '@value': '@b.body[*].id', '@select': [x] } }",
        "{ owned: { '@value': { a: 1, b: 2 }, '@omit': [a], c: '@this.b' }, merged: { '@merge': ['@a.body', { z: 1 }], '@select': [z, id] } }",
        "{ a: '@a.body.id', b: '@this.a', c: '@this', d: '@this.c.b', e: { g: 1, h: '@this.g' }, h: '@this.e.g', later: 1 }",
        "{ n: 3, list: { '@each': '@b.body', w: '@item.id' }, vals: { '@each': '@b.body', '@value': '@this.n' } }",
        "{ a: { '@each': '@a.body' }, b: { '@each': [1, 2, '@a.body.id'], '@as': v, x: '@v' }, c: { '@each': '@b.body[*].id' }, d: { '@each': '@a.body.missing', x: 1 } }",
        "{ n: '@a.body.name', k: 'é€ \"<>&' }",
        "{ lk: { '@lookup': '@c.body', '@by': 5, '@select': [name], extra: '@this.name' }, ls: { '@lookup': '@c.body', '@by': 404, '@select': [name] } }",
        "{ self: { x: 1, y: { '@merge': ['@this', { z: 2 }] } }, selfShape: { x: 1, y: { '@value': '@this', '@select': [x] } } }",
        "{ deep: { '@each': '@b.body', '@as': o, items: { '@each': '@o.items', '@as': i, pair: ['@o.id', '@i.productId'], o: '@o.items[*].quantity' } } }",
        "{ sumOfSums: { '@sum': [{ t: { '@sum': '@c.body', '@of': [price] } }], '@of': [t] }, nested: { a: { b: { c: '@a.body.nested' } } } }",
        "{ r: { '@value': '@a.body', id: 99, zz: 1, name: '@this.id', self: '@this', back: '@this.zz', t: '@this.t', nope: '@this.missing' } }",
        "{ items: { '@each': '@b.body[0].items', '@value': '@item', q2: '@item.quantity', productId: x }, m: { '@merge': [{ '@value': '@a.body', id: 1 }, { z: 2 }] }, k: { '@lookup': [{ '@value': '@c.body[0]', tag: t }], '@by': t, '@key': tag } }",
        "{ s: { '@sum': { '@each': '@c.body', '@value': '@item', n: 2 }, '@of': [n, price] }, sh: { '@value': { '@value': '@a.body', id: 5 }, '@select': [id, name] }, kb: { '@lookup': [{ o: { '@value': '@c.body[0]', x: 1 } }], '@by': { '@value': '@c.body[0]', x: 1 }, '@key': o } }",
        // An @select of a borrowed object read every way a value is read: by field, merged, reshaped again, extended,
        // summed, as a lookup's key, and written inside @each.
        "{ v: { '@lookup': '@c.body', '@by': 5, '@select': [price, name, missing, name] }, n: '@this.v.name', p: '@this.v.price', m: { '@merge': ['@this.v', { z: 1 }] }, o: { '@value': '@this.v', '@omit': [name] }, r: { '@value': '@this.v', '@rename': { name: title } }, ss: { '@value': '@this.v', '@select': [name, secret] }, e: { '@value': '@this.v', extra: 2 }, all: { '@each': '@c.body', '@value': '@item', '@select': [id, price] }, t: { '@sum': { '@each': '@c.body', '@value': '@item', '@select': [price] }, '@of': [price] }, k: { '@lookup': [{ key: { '@value': '@c.body[0]', '@select': [id, name] }, hit: 1 }], '@by': { '@value': '@c.body[0]', '@select': [id, name, id] }, '@key': key }, a: { '@value': '@a.body', '@select': [nested, tags, n, é] } }",
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var template in Templates)
        {
            foreach (var input in Inputs)
            {
                data.Add(template, (string)input[0]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Write_GivesTheExpectedBytes(string response, string inputs)
    {
        var input = Inputs.Single(i => (string)i[0] == inputs);
        var template = Compile(response);
        var actual = Written(template, (string?)input[1], (string?)input[2], (string?)input[3]);
        Assert.Equal(Expected[(Array.IndexOf(Templates, response), inputs)], actual);
    }

    [Fact]
    public void ExpectedBytes_CoverEveryCase_AndNoneIsAFailure()
    {
        Assert.Equal(Templates.Length * Inputs.Count, Expected.Count);
        Assert.All(Expected.Values, e => Assert.DoesNotContain("Exception", e, StringComparison.Ordinal));
    }

    [Fact]
    public void OrderHistory_IsShapedAsBefore()
    {
        var actual = Written(Compile(Templates[6]), A, B, C);
        Assert.Equal(Expected[(6, "all")], actual);
        Assert.Contains("\"total\":13.0", actual, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MergeOfAnObjectOfManyFields_KeepsEachNameOnce_WithoutATimeQuadraticInItsSize()
    {
        // A backend object of 100,000 fields (about 1 MB, the default maxBodySize) merged with a few more: each name is
        // found by name, not by scanning the fields merged so far.
        var big = "{" + string.Join(",", Enumerable.Range(0, 100_000).Select(i => $"\"k{i}\":{i}")) + "}";
        var template = Compile("{ m: { '@merge': ['@a.body', { k5: five, extra: 1 }, '@a.body.nope'] } }");

        // A bound against a hang (a TimeoutException fails the test), not a speed target: it takes milliseconds.
        var actual = await Task.Run(() => Written(template, big, null, null)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.StartsWith("{\"m\":{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":\"five\",\"k6\":6,", actual, StringComparison.Ordinal);
        Assert.EndsWith(",\"k99999\":99999,\"extra\":1}}", actual, StringComparison.Ordinal);
    }

    [Fact]
    public void ResponseThatIsOneReference_IsWrittenAsIs()
    {
        var actual = Written(Compile("'@b.body[*].items'"), A, B, C);
        Assert.Equal(ExpectedOneReference, actual);
        Assert.StartsWith("[[{", actual, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5", "5")]
    [InlineData("\"5\"", "5")]
    [InlineData("2.50", "2.50")]
    [InlineData("1e400", "1e400")]
    [InlineData("true", "true")]
    [InlineData("null", "null")]
    [InlineData("\"a\\u00e9\"", "a\u00e9")]
    [InlineData("{\"b\":[1,\"x\"],\"a\":\"\u00e9\"}", "{\"b\":[1,\"x\"],\"a\":\"\\u00E9\"}")]
    public void Key_IsTheTextOfAScalar_OrTheJsonOfAnythingElse(string json, string key)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Equal(key, ElementValue.Of(document.RootElement).Key());
    }

    [Fact]
    public void UnknownTemplate_ThrowsTheSame()
    {
        var template = new ObjectTemplate([new("x", new BogusTemplate())]);
        Assert.Equal(ExpectedUnknownTemplate, Written(template, A, B, C));
    }

    [Fact]
    public void AnswerNestedDeeperThanTheWriterAllows_ThrowsTheSame()
    {
        var deep = new string('[', 1005) + new string(']', 1005);
        var actual = Written(Compile("{ x: '@a.body' }"), deep, B, C);
        Assert.StartsWith("InvalidOperationException", ExpectedTooDeep, StringComparison.Ordinal);
        Assert.Equal(ExpectedTooDeep.Split(':')[0], actual.Split(':')[0]);
    }

    [Fact]
    public void SumThatOverflows_ThrowsTheSame()
    {
        var actual = Written(Compile("{ s: { '@sum': '@a.body', '@of': [v] } }"), """[{"v":79228162514264337593543950335},{"v":79228162514264337593543950335}]""", B, C);
        Assert.Equal(ExpectedOverflow, actual);
    }

    [Fact]
    public void Evaluate_ReadsWhatWriteWrites()
    {
        var template = Compile(Templates[6]);
        using var a = JsonDocument.Parse(A);
        using var b = JsonDocument.Parse(B);
        using var c = JsonDocument.Parse(C);
        var steps = new Dictionary<string, ElementValue> { ["a"] = Step(a), ["b"] = Step(b), ["c"] = Step(c) };
        var evaluator = new ElementEvaluator((ValueRef r, out int consumed) => NewRoot(steps, r, out consumed));
        var value = evaluator.Evaluate(template);
        Assert.Equal(ElementValueKind.Fields, value.Kind);
        Assert.Equal(Expected[(6, "all")], value.ToJsonString());
        var ids = new List<ElementValue>();
        evaluator.ResolveMany(ValueRef.TryParse("@b.body[*].items[*].productId", out _)!, ids);
        Assert.Equal(["5", "6", "9", "true"], ids.Select(i => i.Key()));
    }

    private sealed record BogusTemplate : Template;

    private static Template Compile(string response)
    {
        var config = ConfigText.Valid($$"""
            version: 1
            services:
              s:
                targets: [http://127.0.0.1:5001]
                operations:
                  s.get: { method: GET, path: /x }
            compositions:
              comp:
                path: "/comp/{id}"
                steps:
                  a: { operation: s.get }
                  b: { operation: s.get }
                  c: { operation: s.get }
                response:
                  {{string.Join("\n      ", response.Trim().Split('\n'))}}
            """);
        var errors = new List<(string, string)>();
        var compiled = CompositionCompiler.Compile("comp", config.Compositions["comp"], config, OperationIndex.Build(config), errors);
        Assert.Empty(errors);
        return compiled!.Response;
    }

    /// <summary>What the evaluator writes (or the exception it throws) over the step bodies given.</summary>
    private static string Written(Template template, string? a, string? b, string? c)
    {
        var bodies = new[] { ("a", a), ("b", b), ("c", c) };
        var documents = bodies.Where(s => s.Item2 is not null).ToDictionary(s => s.Item1, s => JsonDocument.Parse(s.Item2!, new JsonDocumentOptions { MaxDepth = 2000 }));
        try
        {
            var steps = documents.ToDictionary(d => d.Key, d => Step(d.Value));
            return Output(writer => new ElementEvaluator((ValueRef r, out int consumed) => NewRoot(steps, r, out consumed)).Write(template, writer));
        }
        finally
        {
            foreach (var d in documents.Values)
            {
                d.Dispose();
            }
        }
    }

    private static ElementValue Step(JsonDocument body) => ElementValue.Fields(
    [
        new("status", ElementValue.Number("200")),
        new("headers", ElementValue.Fields([new("x-trace", ElementValue.String("t1"))])),
        new("body", ElementValue.Of(body.RootElement)),
    ]);

    private static ElementValue NewRoot(Dictionary<string, ElementValue> steps, ValueRef r, out int consumed)
    {
        consumed = 0;
        if (r.Root == "request")
        {
            consumed = r.Segments.Count;
            return r.Segments[0].Name == "path" ? ElementValue.String("1") : default;
        }

        return steps.GetValueOrDefault(r.Root);
    }

    private static string Output(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            using var writer = new Utf8JsonWriter(buffer);
            write(writer);
            writer.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (Exception e) when (e is InvalidOperationException or OverflowException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }
}
