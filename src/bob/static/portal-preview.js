// Answer previews (knowledge and persona pages) without leaving the page. A form, or the button
// that sends it, names its result region with data-preview="#id"; the server answers with the
// whole page as it would without JavaScript, and only that region is taken from it.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented || !window.Bob || !window.DOMParser) return;
    var form = event.target;
    var submitter = event.submitter || null;
    var selector = (submitter && submitter.getAttribute("data-preview")) || form.getAttribute("data-preview");
    if (!selector) return;
    var region = document.querySelector(selector);
    if (!region) return;
    event.preventDefault();

    var url = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    region.setAttribute("aria-busy", "true");
    region.classList.add("is-busy");

    window.Bob.send(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (response) {
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(selector);
      if (!fresh) throw new Error("no " + selector + " in the answer");
      region.innerHTML = fresh.innerHTML;
    }).catch(function () {
      // Anything unexpected: send the form the ordinary way, which shows the whole page.
      form.removeAttribute("data-preview");
      if (submitter) submitter.removeAttribute("data-preview");
      buttons.forEach(function (b) { b.disabled = false; });
      if (form.requestSubmit) form.requestSubmit(submitter || undefined); else form.submit();
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      region.removeAttribute("aria-busy");
      region.classList.remove("is-busy");
    });
  });
})();
