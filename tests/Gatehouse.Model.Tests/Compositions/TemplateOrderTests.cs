using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Compositions;

/// <summary>
/// The order an object template is evaluated in (written keys see the base, then @select, @omit and @rename shape the
/// result), the two traps a new user wrote (issue 24), the conversions, and references that can never resolve.
/// </summary>
[Trait("Issue", "24")]
public sealed class TemplateOrderTests
{
    // a: the ids of a list; b: the records to join, keyed by userId; c: one user.
    private const string Ids = """["u1","u2"]""";
    private const string Records = """[{"userId":"u1","plan":"gold"},{"userId":"u2","plan":"free"}]""";
    private const string Users = """[{"id":"u1","name":"Ann","email":"a@x"},{"id":"u2","name":"Bo","email":"b@x"}]""";

    [Fact]
    public void EachWithOmitAndNoValue_KeepsTheWrittenKeysAndDropsTheJoinKey()
    {
        // Trap 1: '@omit' in an '@each' object without '@value' used to make every element the bare id.
        var written = Write("""
            { items: { "@each": "@a.body", id: "@item", record: { "@lookup": "@b.body", "@by": "@this.id", "@key": userId }, "@omit": [id] } }
            """, Ids, Records, null);

        Assert.Equal("""{"items":[{"record":{"userId":"u1","plan":"gold"}},{"record":{"userId":"u2","plan":"free"}}]}""", written);
    }

    [Fact]
    public void WrittenKeyJoinedByAnOmittedField_SeesTheBaseBeforeTheOmit()
    {
        // Trap 2: the omitted field was removed before the written keys were evaluated, so every join was null.
        var written = Write("""
            { users: { "@each": "@c.body", "@value": { "@lookup": "@c.body", "@by": "@item.id" }, record: { "@lookup": "@b.body", "@by": "@this.id", "@key": userId }, "@omit": [id, email] } }
            """, null, Records, Users);

        Assert.Equal("""{"users":[{"name":"Ann","record":{"userId":"u1","plan":"gold"}},{"name":"Bo","record":{"userId":"u2","plan":"free"}}]}""", written);
    }

    [Fact]
    public void Select_KeepsFieldsOfTheBase_AndTheWrittenKeysStay()
    {
        var written = Write("""
            { u: { "@value": "@c.body[0]", "@select": [id, name], mail: "@this.email", "@rename": { name: title } } }
            """, null, null, Users);

        Assert.Equal("""{"u":{"id":"u1","mail":"a@x","title":"Ann"}}""", written);
    }

    [Fact]
    public void OmitAndRename_ApplyToWrittenKeysToo()
    {
        var written = Write("""
            { u: { "@value": "@c.body[1]", tmp: "@this.id", key: "@this.tmp", "@omit": [tmp, email], "@rename": { key: ref } } }
            """, null, null, Users);

        Assert.Equal("""{"u":{"id":"u2","name":"Bo","ref":"u2"}}""", written);
    }

    [Fact]
    public void EachOfNothingButSelect_StillReshapesTheElement()
    {
        Assert.Equal("""{"u":[{"name":"Ann"},{"name":"Bo"}]}""", Write("""{ u: { "@each": "@c.body", "@select": [name] } }""", null, null, Users));
    }

    [Theory]
    [InlineData("\"12\"", "12")]
    [InlineData("\"1.50\"", "1.50")]
    [InlineData("7", "7")]
    [InlineData("\"1e2\"", "100")]
    [InlineData("\"abc\"", "null")]
    [InlineData("\" 1\"", "null")]
    [InlineData("\"0x10\"", "null")]
    [InlineData("true", "null")]
    [InlineData("null", "null")]
    public void Number_MakesANumberOfANumericString(string value, string expected)
    {
        Assert.Equal($$"""{"n":{{expected}}}""", Write("""{ n: { "@number": "@a.body.v" } }""", $$"""{"v":{{value}}}""", null, null));
    }

    [Fact]
    public void NumberOfAPathParameter_IsANumber_AndStringOfANumber_IsAString()
    {
        Assert.Equal("""{"id":1,"raw":"1","s":"7","t":"true"}""", Write("""
            { id: { "@number": "@request.path.id" }, raw: "@request.path.id", s: { "@string": "@a.body.v" }, t: { "@string": "@a.body.t" } }
            """, """{"v":7,"t":true}""", null, null));
    }

    [Theory]
    [InlineData("""{ a: 1, b: "@this.c" }""", "response.b", "'c' is not one of them")]
    [InlineData("""{ b: "@this.a", a: 1 }""", "response.b", "Write 'a' above this key")]
    [InlineData("""{ u: { "@value": "@c.body[0]", "@select": [id, name] }, m: "@this.u.email" }""", "response.m", "only has id, name")]
    [InlineData("""{ u: { "@value": "@c.body[0]", "@omit": [email] }, m: "@this.u.email" }""", "response.m", "'@omit' removes it")]
    [InlineData("""{ u: { "@value": "@c.body[0]", "@rename": { email: mail } }, m: "@this.u.email" }""", "response.m", "renames it to 'mail'")]
    [InlineData("""{ l: { "@each": "@c.body", n: "@item.name" }, m: "@this.l.n" }""", "response.m", "is a list")]
    [InlineData("""{ t: { "@sum": "@c.body", "@of": [x] }, m: "@this.t.x" }""", "response.m", "is a number")]
    [InlineData("""{ l: { "@each": "@c.body", n: "@item.name", v: "@this.id" } }""", "response.l.v", "'id' is not one of them")]
    [InlineData("""{ o: { "@each": "@a.body", id: "@item", "@omit": [userId] } }""", "response.o.@omit", "Add '@value': '@item'")]
    [InlineData("""{ o: { "@each": "@a.body", id: "@item", "@select": [id] } }""", "response.o.@select", "Remove '@select'")]
    [InlineData("""{ o: { "@each": "@a.body", id: "@item", "@rename": { x: y } } }""", "response.o.@rename", "never have")]
    [InlineData("""{ o: { "@value": "@c.body[0]", "@select": [id], "@rename": { email: mail } } }""", "response.o.@rename", "'@select' leaves out")]
    [InlineData("""{ n: { "@number": "@a.body", x: 1 } }""", "response.n", "stands alone")]
    public void ReferenceOrReshapeThatCanNeverApply_IsAConfigError(string response, string at, string says)
    {
        var result = ConfigText.Load(Config(response));
        var error = Assert.Single(result.Errors);
        Assert.Equal($"compositions.comp.{at}", error.Path);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThisInAStepParameter_IsAConfigError()
    {
        var result = ConfigText.Load(Config("{ x: 1 }").Replace("a: { operation: s.get }", "a: { service: s, path: \"/x/{id}\", params: { id: \"@this.id\" } }", StringComparison.Ordinal));
        var error = Assert.Single(result.Errors);
        Assert.Equal("compositions.comp.steps.a.params.id", error.Path);
        Assert.Contains("there is none here", error.Message, StringComparison.Ordinal);
    }

    private static string Config(string response) => $$"""
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
            response: {{response.Trim()}}
        """;

    /// <summary>What the response template writes over the step bodies given (null: the step gave nothing).</summary>
    private static string Write(string response, string? a, string? b, string? c)
    {
        var config = ConfigText.Valid(Config(response));
        var errors = new List<(string, string)>();
        var compiled = CompositionCompiler.Compile("comp", config.Compositions["comp"], config, OperationIndex.Build(config), errors)!;
        var documents = new[] { ("a", a), ("b", b), ("c", c) }.Where(s => s.Item2 is not null).ToDictionary(s => s.Item1, s => JsonDocument.Parse(s.Item2!));
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                new ElementEvaluator((ValueRef r, out int consumed) =>
                {
                    if (r.Root == "request")
                    {
                        consumed = r.Segments.Count;
                        return ElementValue.String("1");
                    }

                    consumed = 1;
                    return documents.TryGetValue(r.Root, out var d) ? ElementValue.Of(d.RootElement) : default;
                }).Write(compiled.Response, writer);
            }

            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            foreach (var d in documents.Values)
            {
                d.Dispose();
            }
        }
    }
}
