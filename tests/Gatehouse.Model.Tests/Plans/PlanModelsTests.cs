using Gatehouse.Model.Plans;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Plans;

/// <summary>
/// Issues 18 and 22: the model routes a plan grants, which its operations list leaves out (a catch-all to the
/// OpenAI-compatible API is not REST operations), for the portal's plan page.
/// </summary>
[Trait("Issue", "18")]
public sealed class PlanModelsTests
{
    private const string Yaml = """
        version: 1
        services:
          llm:
            kind: ai
            ai:
              providers: { local: { url: "http://127.0.0.1:5104/v1" } }
              models:
                smart: [ { provider: local, model: big } ]
                fast: [ { provider: local, model: small } ]
          users:
            targets: [http://127.0.0.1:5001]
        routes:
          models: { path: "/v1/{**rest}", service: llm }
          models-beta: { path: "/beta/openai", service: llm }
          users: { path: "/users/{**rest}", service: users }
        plans:
          gold: { include: [ { route: models }, { route: models-beta }, { route: users } ], tokenLimits: [ { tokens: 100000, per: day, model: smart } ] }
          silver: { include: [ { route: users } ] }
          writer: { include: [ { route: models, access: write } ] }
          fastonly: { include: [ { route: models } ], models: [ fast ] }
        """;

    [Fact]
    public void Models_AreTheModelRoutesAPlanMayRead_WithTheirBasePathsAndAliases()
    {
        var config = ConfigText.Valid(Yaml);

        var gold = PlanProjection.Models("gold", config);
        Assert.Equal(["/beta/openai", "/v1"], gold.Select(m => m.BasePath));
        Assert.Equal(["fast", "smart"], gold[1].Aliases);
        Assert.Equal("models", gold[1].RouteId);

        // The operations list leaves model routes out; the proxied route is there.
        Assert.DoesNotContain(PlanProjection.Of("gold", config), o => o.Id.StartsWith("models", StringComparison.Ordinal));
        Assert.Contains(PlanProjection.Of("gold", config), o => o.Id == "users");

        // No grant, or a grant of writes only (a model call is a read), or no such plan: no models.
        Assert.Empty(PlanProjection.Models("silver", config));
        Assert.Empty(PlanProjection.Models("writer", config));
        Assert.Empty(PlanProjection.Models("nobody", config));

        // A plan's 'models' narrows the aliases it shows.
        Assert.Equal(["fast"], Assert.Single(PlanProjection.Models("fastonly", config)).Aliases);
    }
}
