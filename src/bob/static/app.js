// The pages' shared behaviour: CSRF header on the pages' own requests, copy buttons,
// confirmations and live updates over server-sent events. No framework, no build step.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function announce(text) {
    var region = document.getElementById("bob-live");
    if (!region) {
      region = document.createElement("div");
      region.id = "bob-live";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  // fetch() with the login session's CSRF token: unsafe requests from the pages need it.
  function send(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ "X-CSRF-Token": csrf }, options.headers || {});
    return fetch(url, options);
  }

  // <button data-copy="#id" data-copied="Copied">: copies the element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.getAttribute("data-copied") || "Copied";
      button.setAttribute("data-label", button.textContent);
      button.textContent = label;
      announce(label);
      setTimeout(function () { button.textContent = button.getAttribute("data-label"); }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); done(); });
    } else {
      select(source);
      try { document.execCommand("copy"); } catch (e) { /* selection stays for a manual copy */ }
      done();
    }
  });

  function select(node) {
    if (node.select) { node.select(); return; }
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // <form data-confirm="Really?">: asks first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // <select data-autosubmit> submits its form on change (a plain button stays for no-JS use).
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) event.target.form.submit();
  });

  // Live updates: EventSource reconnects by itself; callers get parsed JSON per event type.
  function listen(url, handlers) {
    if (!window.EventSource) return null;
    var source = new EventSource(url, { withCredentials: true });
    Object.keys(handlers).forEach(function (type) {
      source.addEventListener(type, function (event) {
        var data = null;
        try { data = JSON.parse(event.data); } catch (e) { data = event.data; }
        handlers[type](data);
      });
    });
    return source;
  }

  window.Bob = { send: send, listen: listen, announce: announce, csrf: csrf };
})();
