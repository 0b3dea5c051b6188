using Gatehouse.Model.Compositions;

namespace Gatehouse.Model.Tests.Compositions;

/// <summary>
/// The evaluator's cheaper representations give the bytes the general ones gave: a <c>@sum</c> kept as a decimal (not a
/// JsonNode), names of references, selections and paths read as UTF-8. Each expected text is what the evaluator wrote
/// before those representations existed.
/// </summary>
public sealed partial class ElementEvaluatorTests
{
    private const string SumTemplate = """
        { s: { '@sum': '@a.body', '@of': [v] }, p: { '@sum': '@a.body', '@of': [v, w] },
          ss: { '@sum': [{ t: { '@sum': '@a.body', '@of': [v] } }, { t: 0.5 }], '@of': [t] },
          k: { '@lookup': '@b.body', '@by': { '@sum': '@a.body', '@of': [v] } } }
        """;

    private const string SumKeys = """[{"id":"0.30","x":0},{"id":0.3,"x":1},{"id":"0.3","x":2},{"id":-1.25,"x":3},{"id":"0","x":4},{"id":100,"x":5}]""";

    [Theory]
    [InlineData("""[{"v":0.1,"w":2},{"v":0.2,"w":3}]""", """{"s":0.3,"p":0.8,"ss":0.8,"k":{"id":0.3,"x":1}}""")]
    [InlineData("""[{"v":-1.50,"w":2},{"v":0.25}]""", """{"s":-1.25,"p":-3.00,"ss":-0.75,"k":{"id":-1.25,"x":3}}""")]
    [InlineData("""[{"v":1.10,"w":2},{"v":1.10,"w":2}]""", """{"s":2.20,"p":4.40,"ss":2.70,"k":null}""")]
    [InlineData("""[{"v":79228162514264337593543950334,"w":1}]""", """{"s":79228162514264337593543950334,"p":79228162514264337593543950334,"ss":79228162514264337593543950334,"k":null}""")]
    [InlineData("""[{"v":0.0000000000000000000000000001,"w":-1}]""", """{"s":0.0000000000000000000000000001,"p":-0.0000000000000000000000000001,"ss":0.5000000000000000000000000001,"k":null}""")]
    [InlineData("""[{"v":1e2,"w":"2"},{"v":"x"},{"v":1e400}]""", """{"s":100,"p":0,"ss":100.5,"k":{"id":100,"x":5}}""")]
    [InlineData("""[{"v":-0.0,"w":0}]""", """{"s":0.0,"p":0.0,"ss":0.5,"k":null}""")]
    [InlineData("[]", """{"s":0,"p":0,"ss":0.5,"k":{"id":"0","x":4}}""")]
    public void Sum_IsWrittenReadAndKeyedAsBefore(string a, string expected)
    {
        Assert.Equal(expected, Written(Compile(SumTemplate), a, SumKeys, null));
    }

    private static readonly string LongName = new string('n', 90) + "é";

    private static readonly string EscapedNames = """
        {"na\u006de":"esc","id":1,"id":2,"pr\u0069ce":3,"\u00e9":"e2","é":"e1",
         "items":[{"q\u0075antity":2,"p":{"pr\u0069ce":1.5}},{"quantity":1,"quantity":4,"p":{"price":2,"price":3}}],
         "LONG":"long1","LONG":"long2"}
        """.Replace("LONG", new string('n', 90) + "\\u00e9", StringComparison.Ordinal);

    private static readonly string EscapedNamesTemplate = $$"""
        { n: '@a.body.name', id: '@a.body.id', e: '@a.body.é', long: '@a.body.{{LongName}}',
          s: { '@value': '@a.body', '@select': [name, id, price, é, {{LongName}}] },
          t: { '@sum': '@a.body.items', '@of': [quantity, p.price] },
          l: { '@lookup': '@b.body', '@by': x, '@key': key }, w: '@a.body.items[*].quantity' }
        """;

    [Fact]
    public void NamesReadAsUtf8_FindEscapedAndRepeatedNamesAsBefore()
    {
        var actual = Written(Compile(EscapedNamesTemplate), EscapedNames, """[{"k\u0065y":"x","v":1},{"key":"x","v":2}]""", null);
        Assert.Equal(ExpectedEscapedNames, actual);
    }

    // Repeated names: the last is read (as JsonElement.TryGetProperty finds it); a lookup takes the first match.
    private const string ExpectedEscapedNames = """
        {"n":"esc","id":2,"e":"e1","long":"long2","s":{"name":"esc","id":2,"price":3,"\u00E9":"e1","nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\u00E9":"long2"},"t":15.0,"l":{"key":"x","v":1},"w":[2,4]}
        """;

    [Fact]
    public void Utf8Names_TakeNoPartInEquality_AndAreNotCopiedToAnotherName()
    {
        var segment = new RefSegment(RefSegmentKind.Field, "na\u00e9", 0);
        Assert.Equal(new RefSegment(RefSegmentKind.Field, "na\u00e9", 0), segment);
        Assert.Equal(new RefSegment(RefSegmentKind.Field, "na\u00e9", 0).GetHashCode(), segment.GetHashCode());
        Assert.Equal(default, new RefSegment(RefSegmentKind.Field, null!, 0));
        Assert.Equal("na\u00e9"u8.ToArray(), segment.Utf8Name);
        Assert.Null((segment with { Name = "other" }).Utf8Name);
        Assert.Null(new RefSegment(RefSegmentKind.Field, "\ud800", 0).Utf8Name);

        var by = new LiteralTemplate(null);
        var lookup = new LookupTemplate(by, by, "id");
        Assert.Equal(new LookupTemplate(by, by, "id"), lookup);
        Assert.Null((lookup with { Key = "other" }).KeyUtf8);
        var of = new List<string[]> { new[] { "a", "b" } };
        Assert.Equal(new SumTemplate(by, of), new SumTemplate(by, of));
        Assert.Null((new SumTemplate(by, of) with { Of = [["a"]] }).OfUtf8);
        // The view an @select gives a borrowed object: each name once, in the order first named; none when a name is
        // not valid UTF-16 (then the fields are copied, as before) or for a copy with another selection.
        string[] names = ["b", "a", "b"];
        KeyValuePair<string, Template>[] extra = [];
        var shape = new ShapeTemplate(by, names, null, null, extra);
        Assert.Equal(["b", "a"], shape.Selection!.Names);
        Assert.Equal(["b"u8.ToArray(), "a"u8.ToArray()], shape.Selection.Utf8);
        Assert.Equal(new ShapeTemplate(by, names, null, null, extra), shape);
        Assert.Null((shape with { Select = ["c"] }).Selection);
        Assert.Null(new ShapeTemplate(by, null, null, null, []).Selection);
        Assert.Null(new ShapeTemplate(by, ["a", "\ud800"], null, null, []).Selection);
    }

    [Fact]
    public void ReferenceCopiedWithAnotherName_ReadsThatName()
    {
        var template = (ObjectTemplate)Compile("{ x: '@a.body.id' }");
        var r = ((RefTemplate)template.Fields[0].Value).Ref;
        var renamed = r with { Segments = [r.Segments[0], r.Segments[1] with { Name = "n\u00e9" }] };
        var actual = Written(new ObjectTemplate([new("x", new RefTemplate(renamed))]), """{"id":1,"n\u00e9":2}""", null, null);
        Assert.Equal("""{"x":2}""", actual);
    }

    private static readonly string LongKey = new string('k', 70);

    [Fact]
    public void LookupKeysWrittenWithoutAString_MatchAsKeyDoes()
    {
        // Keys as the backend spells them: escaped, long (past the stack buffer), numbers that only look equal, booleans.
        var c = $$"""
            [{"id":"a\u00e9","v":"escaped"},{"id":"aé","v":"plain"},{"id":"{{LongKey}}","v":"long"},{"id":1.0,"v":"1.0"},
             {"id":1,"v":"one"},{"id":"1","v":"one as text"},{"id":true,"v":"true"},{"id":"\"q\"","v":"quoted"},{"id":"","v":"empty"}]
            """;
        var a = $$$"""{"e":"aé","esc":"a\u00e9","long":"{{{LongKey}}}","n":1,"n0":1.0,"t":true,"s":"true","q":"\"q\"","empty":"","obj":{"x":1}}""";
        var template = Compile("""
            { e: { '@lookup': '@c.body', '@by': '@a.body.e' }, esc: { '@lookup': '@c.body', '@by': '@a.body.esc' },
              long: { '@lookup': '@c.body', '@by': '@a.body.long' }, n: { '@lookup': '@c.body', '@by': '@a.body.n' },
              n0: { '@lookup': '@c.body', '@by': '@a.body.n0' }, t: { '@lookup': '@c.body', '@by': '@a.body.t' },
              s: { '@lookup': '@c.body', '@by': '@a.body.s' }, q: { '@lookup': '@c.body', '@by': '@a.body.q' },
              empty: { '@lookup': '@c.body', '@by': '@a.body.empty' }, id: { '@lookup': '@c.body', '@by': '@request.path.id' },
              obj: { '@lookup': '@c.body', '@by': '@a.body.obj' }, listed: { '@lookup': ['@c.body[1]', '@c.body[0]'], '@by': '@a.body.esc' },
              listedN: { '@lookup': ['@c.body[3]', '@c.body[4]'], '@by': '@a.body.n' } }
            """);
        Assert.Equal(ExpectedLookupKeys, Written(template, a, null, c));
    }

    // An escaped key matches its unescaped text; 1 and 1.0 differ; true matches "true"; an object key matches nothing.
    private const string ExpectedLookupKeys = """
        {"e":{"id":"a\u00E9","v":"escaped"},"esc":{"id":"a\u00E9","v":"escaped"},"long":{"id":"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk","v":"long"},"n":{"id":1,"v":"one"},"n0":{"id":1.0,"v":"1.0"},"t":{"id":true,"v":"true"},"s":{"id":true,"v":"true"},"q":{"id":"\u0022q\u0022","v":"quoted"},"empty":{"id":"","v":"empty"},"id":{"id":1,"v":"one"},"obj":null,"listed":{"id":"a\u00E9","v":"plain"},"listedN":{"id":1,"v":"one"}}
        """;

    [Fact]
    public void FieldsSetOnABorrowedObject_ReplaceItsOwnHoweverTheyAreSpelt()
    {
        // Escaped, repeated and non-ASCII names of the object, replaced in place; the set fields it lacks come after.
        var a = """{"pr\u006fduct":1,"product":2,"é":3,"x":4,"\u00e9":5,"productX":6}""";
        var template = Compile("""
            { o: { '@value': '@a.body', product: p, é: e, y: new }, m: { '@merge': [{ '@value': '@a.body', product: p, é: e, y: new }] } }
            """);
        Assert.Equal(ExpectedOverlay, Written(template, a, null, null));
    }

    private const string ExpectedOverlay = """
        {"o":{"product":"p","product":"p","\u00E9":"e","x":4,"\u00E9":"e","productX":6,"y":"new"},"m":{"product":"p","\u00E9":"e","x":4,"productX":6,"y":"new"}}
        """;
}
