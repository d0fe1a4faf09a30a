// The knowledge page's indexing progress: while passages are waiting or being indexed, fetch the
// progress again every few seconds; stop once nothing is left (or the login has ended).
(function () {
  "use strict";
  var box = document.getElementById("indexing");
  if (!box || !window.fetch) return;
  var every = Math.max(2, parseInt(box.getAttribute("data-every"), 10) || 3) * 1000;
  var active = function () { return box.querySelector('[data-active="true"]') !== null; };
  var refresh = function () {
    fetch(box.getAttribute("data-source"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected || !response.ok) return null;
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        box.innerHTML = html;
        if (active()) window.setTimeout(refresh, every);
      })
      .catch(function () { window.setTimeout(refresh, every * 2); });
  };
  if (active()) window.setTimeout(refresh, every);
})();
