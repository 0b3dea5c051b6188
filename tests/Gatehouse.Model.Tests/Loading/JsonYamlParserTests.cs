using Gatehouse.Model.Loading;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>The JSON fast path must be indistinguishable from YamlDotNet's parser reading the same text.</summary>
public sealed class JsonYamlParserTests
{
    public static TheoryData<string> Documents => new()
    {
        """{"version":1}""",
        """{ "a": { "b": [1, -2.5e3, 0, true, false, null, "x"] }, "c": [], "d": {} }""",
        """{"esc":"quote \" slash \\ \/ tab \t nl \n e\u00e9 smile \ud83d\ude00 😀","k\"ey":"v"}""",
        """
        {
          "version": 1,
          "services": {
            "users": { "targets": ["http://127.0.0.1:5101"], "timeout": "5s" },
            "orders": { "targets": ["${ORDERS_URL:-http://127.0.0.1:5102}"] }
          },
          "routes": {
            "users-get": { "methods": ["GET"], "path": "/users/{id}", "service": "users" }
          }
        }
        """,
        """[ {"a": "1"}, ["nested", ["deeper"]], "5", 5 ]""",
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void Events_AreThoseOfTheYamlParser(string json)
    {
        var fast = JsonYamlParser.TryCreate(json);
        Assert.NotNull(fast);

        var expected = Events(new Parser(new StringReader(json)));
        var actual = Events(fast);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("version: 1")]
    [InlineData("{version: 1}")] // YAML flow mapping, not JSON
    [InlineData("{\"a\": 1} trailing")]
    [InlineData("{\"a\": 1,}")]
    [InlineData("// comment\n{\"a\": 1}")]
    [InlineData("")]
    public void NotStrictJson_IsLeftToTheYamlParser(string text) => Assert.Null(JsonYamlParser.TryCreate(text));

    [Fact]
    public void Load_DuplicateKeyInJson_IsTheSameErrorAsThroughYaml()
    {
        const string json = """
            {
              "version": 1,
              "services": { "users": { "targets": ["http://127.0.0.1:1"] }, "users": { "targets": ["http://127.0.0.1:2"] } }
            }
            """;
        var result = ConfigLoader.Load(json, ".", _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Contains("key 'users' appears twice", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Load_ErrorInJson_NamesTheLineOfTheValue()
    {
        const string json = """
            {
              "version": 1,
              "services": {
                "users": { "targets": ["http://127.0.0.1:1"], "timeout": "soon" }
              }
            }
            """;
        var result = ConfigLoader.Load(json, ".", _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.users.timeout", error.Path);
        Assert.Equal(4, error.Line);
    }

    // Type, value, style, key-ness and line of each event: what the binder reads from the nodes built from them.
    private static List<string> Events(IParser parser)
    {
        var list = new List<string>();
        while (parser.MoveNext())
        {
            list.Add(parser.Current switch
            {
                Scalar s => $"scalar {s.Value} {s.Style} key={s.IsKey} line {s.Start.Line}",
                MappingStart m => $"mapping line {m.Start.Line}",
                SequenceStart q => $"sequence line {q.Start.Line}",
                { } other => other.GetType().Name,
                null => "null",
            });
        }

        return list;
    }
}
