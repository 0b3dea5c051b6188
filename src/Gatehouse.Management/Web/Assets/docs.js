// The interactive docs of one plan: Scalar's API reference over the plan's own document. "Try it" sends requests
// through the portal's proxy to the gateway (so no CORS setting is needed), pre-filled with a key this tab was shown.
(function () {
  var host = document.getElementById('docs');
  if (!host || !window.Scalar) { return; }
  var plan = host.getAttribute('data-plan');
  var key = null;
  try { key = sessionStorage.getItem('gatehouse.key.' + plan); } catch (e) { key = null; }
  // No proxy for a visitor who is not signed in (the portal sends requests only for consumers): no "Test Request" either.
  var proxy = host.getAttribute('data-proxy');
  var config = {
    url: host.getAttribute('data-document'),
    proxyUrl: proxy || undefined,
    hideTestRequestButton: !proxy,
    hideClientButton: true,
    withDefaultFonts: false,
    telemetry: false,
    // A consumer's portal: no developer toolbar (Scalar shows one on localhost), and no "Ask AI", which would send the
    // plan's document to Scalar's hosted service.
    showDeveloperTools: 'never',
    agent: { disabled: true },
    persistAuth: false,
  };
  if (key) {
    config.authentication = { preferredSecurityScheme: 'apiKey', securitySchemes: { apiKey: { value: key } } };
  }
  window.Scalar.createApiReference('#docs', config);
})();
