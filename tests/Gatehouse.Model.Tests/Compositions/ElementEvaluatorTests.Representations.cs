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
}
