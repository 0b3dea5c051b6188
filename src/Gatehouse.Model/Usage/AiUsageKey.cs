namespace Gatehouse.Model.Usage;

/// <summary>
/// What one model-usage rollup row counts: an application's calls on one plan to one model alias that one provider model
/// answered (after any fallback). Empty strings stand for "none" (an anonymous caller has no application). Every name comes
/// from the configuration, never from a request.
/// </summary>
/// <param name="Application">The application id ("" for callers without one).</param>
/// <param name="Plan">The plan name.</param>
/// <param name="Alias">The model alias the client named (<c>services.NAME.ai.models</c>).</param>
/// <param name="Provider">The provider that answered (<c>services.NAME.ai.providers</c>).</param>
/// <param name="Model">The provider's model (or Azure deployment) that answered: the one whose <c>price</c> counts.</param>
public readonly record struct AiUsageKey(string Application, string Plan, string Alias, string Provider, string Model);
