using System.Text.Json.Nodes;
using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// A prompt published as an ordinary REST operation (<c>services.NAME.ai.prompts.PROMPT</c>): a request's JSON body
/// fills the template's <c>{{variables}}</c>, the messages go to a model alias of the service, and the answer's text comes
/// back as <c>{ OUTPUT: text }</c>. It is the operation <c>SERVICE.PROMPT</c> (or <see cref="Operation"/>): a route binds
/// it (<c>{ operation: llm.summarize, path: /summarize }</c>), plans grant and limit it, and it appears in the plan's API
/// document and MCP tool list. See docs/ai.md.
/// </summary>
[BindingRules(typeof(Loading.AiPromptRules))]
public sealed record AiPromptConfig
{
    /// <summary>The model alias of this service the prompt is sent to; token limits for that alias count its calls.</summary>
    [RequiredKey("the model alias of this service, e.g. 'model: fast'")]
    [DocType("alias")]
    public required string Model { get; init; }

    /// <summary>
    /// The messages sent, in order, each <c>{ role: system|developer|user|assistant, content: TEXT }</c>. <c>{{name}}</c>
    /// in a content is replaced by the request body's property <c>name</c> (a string as it is, any other value as its
    /// JSON). A value is only ever text inside its message: it cannot add a message or change a role.
    /// </summary>
    [RequiredKey("the messages, e.g. 'messages: [ { role: user, content: \"Summarize: {{text}}\" } ]'")]
    public IReadOnlyList<AiPromptMessageConfig> Messages { get; init; } = [];

    /// <summary>
    /// The JSON Schema (2020-12) of the request body: an object whose <c>properties</c> declare every variable the
    /// messages use. Requests that do not match get 400 problem+json naming what is wrong. It is the request body of the
    /// operation in the plan's API document and of its MCP tool.
    /// </summary>
    [BoundByRules("{}")]
    [DocType("JSON Schema")]
    [DefaultText("required")]
    public JsonNode? Input { get; init; }

    /// <summary>The property of the response object that holds the model's answer: <c>{ "summary": "…" }</c>.</summary>
    [DocType("property name")]
    public string Output { get; init; } = "completion";

    /// <summary>
    /// Chat parameters sent with every call, as OpenAI names them: <c>temperature</c>, <c>top_p</c>, <c>max_tokens</c>,
    /// <c>max_completion_tokens</c>, <c>stop</c>, <c>seed</c>, <c>presence_penalty</c>, <c>frequency_penalty</c>. Token
    /// limits reserve <c>max_tokens</c> (1,024 when not set).
    /// </summary>
    [BoundByRules("{\"type\":\"object\"}")]
    [DocType("mapping name → value")]
    [DefaultText("none")]
    public JsonObject? Parameters { get; init; }

    /// <summary>The operation id plans grant and limit.</summary>
    [DocType("operation id")]
    [DefaultText("`SERVICE.PROMPT`")]
    public string? Operation { get; init; }

    /// <summary>One line for the API document and the MCP tool's description.</summary>
    public string? Summary { get; init; }

    /// <summary>A longer description for the API document and the MCP tool.</summary>
    public string? Description { get; init; }

    /// <summary>Labels plans can grant it by.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The operation id of prompt <paramref name="name"/> of service <paramref name="service"/>.</summary>
    public string OperationIdOf(string service, string name) => Operation ?? $"{service}.{name}";

    /// <summary>
    /// The prompt seen as an operation of its service: <c>POST /prompts/NAME</c>, a read (a model call changes nothing
    /// upstream, as for model routes).
    /// </summary>
    public OperationConfig AsOperation(string name) => new() { Method = "POST", Path = $"/prompts/{name}", Tags = Tags, Access = OperationAccess.Read };

    /// <summary>The variable names a content uses, <c>{{name}}</c>, in order of appearance.</summary>
    public static IEnumerable<string> Variables(string content)
    {
        var at = 0;
        while ((at = content.IndexOf("{{", at, StringComparison.Ordinal)) >= 0)
        {
            var end = content.IndexOf("}}", at + 2, StringComparison.Ordinal);
            if (end < 0)
            {
                yield break;
            }

            yield return content[(at + 2)..end].Trim();
            at = end + 2;
        }
    }
}

/// <summary>One message of a prompt template.</summary>
public sealed record AiPromptMessageConfig
{
    /// <summary>Who says it.</summary>
    [RequiredKey("the message's role: system, developer, user or assistant")]
    public required AiPromptRole Role { get; init; }

    /// <summary>The text, with <c>{{name}}</c> for the request body's property <c>name</c>.</summary>
    [RequiredKey("the message's text, e.g. 'content: \"Summarize: {{text}}\"'")]
    public required string Content { get; init; }
}

/// <summary>The role of a prompt's message, as OpenAI's chat API names them.</summary>
public enum AiPromptRole
{
    /// <summary>Instructions.</summary>
    System,
    /// <summary>Instructions (OpenAI's newer name; Anthropic joins it into <c>system</c>).</summary>
    Developer,
    /// <summary>The user's turn.</summary>
    User,
    /// <summary>The assistant's turn (an example answer).</summary>
    Assistant,
}
