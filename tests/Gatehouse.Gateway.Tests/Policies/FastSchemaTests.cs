using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Policies.Validation;
using Gatehouse.Model.Operations;
using Json.Schema;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// The compiled schema check against JsonSchema.Net as the oracle: on thousands of generated values per schema, every
/// value it calls valid the library finds valid, every value it calls invalid the library finds invalid, and it decides
/// most of them itself (else it would save nothing).
/// </summary>
[Trait("Issue", "23")]
public sealed class FastSchemaTests
{
    private const string OrderDocument = """
        { "openapi": "3.0.3", "info": { "title": "orders", "version": "1" },
          "paths": { "/orders": { "post": { "operationId": "orders.create",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
            "responses": { "201": { "description": "made" } } } } },
          "components": { "schemas": {
            "Order": { "type": "object", "required": ["userId", "items"], "properties": {
              "userId": { "type": "integer", "minimum": 1 }, "note": { "type": "string", "nullable": true, "maxLength": 20 },
              "express": { "type": "boolean" }, "channel": { "type": "string", "enum": ["web", "app", "phone"] },
              "items": { "type": "array", "minItems": 1, "maxItems": 4, "items": { "$ref": "#/components/schemas/Item" } } },
              "additionalProperties": false },
            "Item": { "type": "object", "required": ["productId", "quantity"], "properties": {
              "productId": { "type": "integer" }, "quantity": { "type": "integer", "minimum": 1, "maximum": 99 },
              "price": { "type": "number", "exclusiveMinimum": true, "minimum": 0 },
              "sku": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$" } } } } } }
        """;

    private static readonly EvaluationOptions Flag = new() { OutputFormat = OutputFormat.Flag };

    public static TheoryData<string, string, string> Schemas()
    {
        var order = OpenApiContracts.Read((JsonObject)JsonNode.Parse(OrderDocument)!, "/orders", "POST", openApi30: true)!.Body!.Content.Single().Value!;
        return new TheoryData<string, string, string>
        {
            { "openapi order", order, """{"userId":7,"note":null,"channel":"web","items":[{"productId":1,"quantity":2,"price":9.5,"sku":"ABC-1234"}]}""" },
            { "combinators", """
                { "type": "object", "properties": {
                    "a": { "oneOf": [ { "type": "integer", "maximum": 10 }, { "type": "integer", "minimum": 5 } ] },
                    "b": { "anyOf": [ { "type": "string", "minLength": 2 }, { "type": "null" } ] },
                    "c": { "not": { "enum": ["no", 3, null] } },
                    "d": { "allOf": [ { "type": ["number", "string"] }, { "minimum": 0 }, { "maxLength": 3 } ] },
                    "e": { "const": { "k": [1, 2] } }, "f": { "type": "string", "format": "email" } },
                  "minProperties": 1, "maxProperties": 4, "additionalProperties": { "type": "boolean" } }
                """, """{"a":1,"b":"xy","c":"yes","d":2}""" },
            { "arrays and bounds", """
                { "type": "array", "uniqueItems": true, "maxItems": 5, "items": {
                    "type": ["integer", "string", "number"], "exclusiveMinimum": -1, "exclusiveMaximum": 100.5, "minLength": 1, "maxLength": 4,
                    "pattern": "[a-z]" } }
                """, """[0,1.5,"ab","x",100]""" },
            { "recursive tree", """
                { "$ref": "#/$defs/node", "$defs": { "node": { "type": "object", "required": ["name"], "properties": {
                    "name": { "type": "string", "maxLength": 8 }, "children": { "type": "array", "items": { "$ref": "#/$defs/node" } } },
                    "additionalProperties": false } } }
                """, """{"name":"root","children":[{"name":"a"},{"name":"b","children":[{"name":"c"}]}]}""" },
            { "booleans", """{ "type": "object", "properties": { "yes": true, "never": false }, "additionalProperties": true }""", """{"yes":[1,{}]}""" },
        };
    }

    [Theory]
    [MemberData(nameof(Schemas))]
    public void GeneratedValues_EveryDecisionAgreesWithJsonSchemaNet_AndMostAreDecided(string name, string schemaText, string validSample)
    {
        var fast = FastSchema.TryCompile(schemaText);
        Assert.True(fast is not null, $"{name}: the schema was not compiled");
        var library = JsonSchema.FromText(schemaText, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri("urn:test:" + Uri.EscapeDataString(name)));

        using (var sample = JsonDocument.Parse(validSample))
        {
            Assert.True(library.Evaluate(sample.RootElement, Flag).IsValid, $"{name}: the sample is not valid to the library");
            Assert.Equal(Verdict.Valid, fast.Evaluate(sample.RootElement));
        }

        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7fff ^ 20261203);
        var schemaNode = JsonNode.Parse(schemaText)!;
        var names = Names(schemaNode).Distinct().ToArray();
        int decided = 0, validSeen = 0, total = 3000;
        for (var i = 0; i < total; i++)
        {
            // Half are the valid sample with one change (the cases near the boundary), half are made up from scratch.
            var node = i % 2 == 0 ? Mutate(JsonNode.Parse(validSample), random, names) : RandomValue(random, names, 0);
            var text = node?.ToJsonString() ?? "null";
            using var document = JsonDocument.Parse(text);
            var expected = LibraryValid(library, document.RootElement);
            var verdict = fast.Evaluate(document.RootElement);
            if (verdict != Verdict.Unknown)
            {
                decided++;
                Assert.True((verdict == Verdict.Valid) == expected, $"{name}: {text} is {(expected ? "valid" : "invalid")} to the library but {verdict} to the compiled check");
            }

            validSeen += expected ? 1 : 0;
        }

        Assert.True(validSeen > 50, $"{name}: only {validSeen} of {total} generated values were valid; the test would not show much");
        Assert.True(decided >= total * 0.8, $"{name}: the compiled check decided only {decided} of {total}");
    }

    // The library throws on a number beyond a decimal's range in enum, const and uniqueItems; the gateway refuses those.
    private static bool LibraryValid(JsonSchema library, JsonElement value)
    {
        try
        {
            return library.Evaluate(value, Flag).IsValid;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("""{ "type": "object", "patternProperties": { "^x": { "type": "string" } } }""")]
    [InlineData("""{ "if": { "type": "string" }, "then": { "minLength": 2 } }""")]
    [InlineData("""{ "type": "object", "unevaluatedProperties": false }""")]
    [InlineData("""{ "prefixItems": [ { "type": "string" } ] }""")]
    [InlineData("""{ "$ref": "https://example.com/schema" }""")]
    [InlineData("""{ "$ref": "#/$defs/missing", "$defs": {} }""")]
    [InlineData("""{ "$schema": "http://json-schema.org/draft-07/schema#", "type": "string" }""")]
    [InlineData("""{ "type": "strnig" }""")]
    [InlineData("""{ "multipleOf": 0.5 }""")]
    public void Schema_WithAKeywordItDoesNotDecide_IsLeftToTheLibrary(string schema) =>
        Assert.Null(FastSchema.TryCompile(schema));

    [Fact]
    public void DefinitionThatRefersToItself_WithoutGoingIntoTheValue_IsUnknownNotAStackOverflow()
    {
        var fast = FastSchema.TryCompile("""{ "$ref": "#/$defs/a", "$defs": { "a": { "$ref": "#/$defs/a" } } }""")!;
        using var document = JsonDocument.Parse("1");
        Assert.Equal(Verdict.Unknown, fast.Evaluate(document.RootElement));
    }

    private static IEnumerable<string> Names(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var (key, value) in o)
            {
                if (key is "properties" && value is JsonObject props)
                {
                    foreach (var (p, _) in props)
                    {
                        yield return p;
                    }
                }

                foreach (var n in Names(value))
                {
                    yield return n;
                }
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var item in a)
            {
                foreach (var n in Names(item))
                {
                    yield return n;
                }
            }
        }
    }

    private static readonly string[] Strings = ["", "a", "ab", "xy", "abcd", "abcde", "web", "app", "fax", "no", "yes", "ABC-1234", "abc-1234", "a@example.com", "a@", "ABC-12345", "é", "éé", "😀", "a😀", "root", "verylongname", "AB", "1"];
    private static readonly string[] Numbers = ["0", "1", "-1", "2", "5", "7", "10", "11", "99", "100", "101", "1.0", "1.5", "0.5", "-0.5", "1e2", "1E1", "100.5", "100.4", "3", "-1.0", "12345678901234567890123", "1e300", "0.00000000000000000000000000001"];

    private static JsonNode? RandomValue(Random random, string[] names, int depth)
    {
        switch (random.Next(depth >= 3 ? 5 : 7))
        {
            case 0:
                return null;
            case 1:
                return JsonValue.Create(random.Next(2) == 0);
            case 2:
            case 3:
                return JsonNode.Parse(Numbers[random.Next(Numbers.Length)]);
            case 4:
                return JsonValue.Create(Strings[random.Next(Strings.Length)]);
            case 5:
                var array = new JsonArray();
                for (var n = random.Next(6); n > 0; n--)
                {
                    array.Add(random.Next(3) == 0 && array.Count > 0 ? array[random.Next(array.Count)]?.DeepClone() : RandomValue(random, names, depth + 1));
                }

                return array;
            default:
                var obj = new JsonObject();
                for (var n = random.Next(5); n > 0; n--)
                {
                    var key = random.Next(4) == 0 ? "other" + random.Next(3) : names.Length > 0 ? names[random.Next(names.Length)] : "k";
                    obj[key] = RandomValue(random, names, depth + 1);
                }

                return obj;
        }
    }

    // One change somewhere in the value: a node replaced, a property removed or added, an item added or removed.
    private static JsonNode? Mutate(JsonNode? root, Random random, string[] names)
    {
        var all = new List<JsonNode>();
        Collect(root, all);
        if (all.Count == 0 || random.Next(20) == 0)
        {
            return RandomValue(random, names, 0);
        }

        var target = all[random.Next(all.Count)];
        switch (target, random.Next(3))
        {
            case (JsonObject o, 0) when o.Count > 0:
                o.Remove(o.ElementAt(random.Next(o.Count)).Key);
                return root;
            case (JsonObject o, 1):
                o[random.Next(3) == 0 ? "other" : names[random.Next(names.Length)]] = RandomValue(random, names, 2);
                return root;
            case (JsonArray a, 0) when a.Count > 0:
                a.RemoveAt(random.Next(a.Count));
                return root;
            case (JsonArray a, 1):
                a.Add(a.Count > 0 && random.Next(2) == 0 ? a[random.Next(a.Count)]?.DeepClone() : RandomValue(random, names, 2));
                return root;
        }

        if (target.Parent is JsonObject parent)
        {
            parent[target.GetPropertyName()] = RandomValue(random, names, 2);
            return root;
        }

        if (target.Parent is JsonArray list)
        {
            list[target.GetElementIndex()] = RandomValue(random, names, 2);
            return root;
        }

        return RandomValue(random, names, 0);
    }

    private static void Collect(JsonNode? node, List<JsonNode> all)
    {
        if (node is null)
        {
            return;
        }

        all.Add(node);
        if (node is JsonObject o)
        {
            foreach (var (_, v) in o)
            {
                Collect(v, all);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var v in a)
            {
                Collect(v, all);
            }
        }
    }
}
