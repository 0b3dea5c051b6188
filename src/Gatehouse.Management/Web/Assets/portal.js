// Progressive enhancement only: every form works without this file.
// A key shown once: a copy button, and the key kept in this tab's sessionStorage so that the interactive docs can
// pre-fill "try it" with it. The server never stores the plaintext; sessionStorage ends with the tab.
(function () {
  var shown = document.querySelector('[data-new-key]');
  if (shown) {
    var key = shown.getAttribute('data-new-key');
    var plan = shown.getAttribute('data-plan');
    // An API token (no plan) is only copied: the docs have no use for it.
    if (plan) {
      try { sessionStorage.setItem('gatehouse.key.' + plan, key); } catch (e) { /* storage off: the docs start empty */ }
    }
    var button = document.getElementById('copy-key');
    if (button && navigator.clipboard) {
      button.hidden = false;
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(key).then(function () { button.textContent = 'Copied'; });
      });
    }
  }
})();
