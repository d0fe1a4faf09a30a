// Mission Control's live parts: the feed of conversations across tenants (server-sent events)
// and the status panel that refreshes itself. Texts come translated from the page.
(function () {
  "use strict";
  var MAX_ITEMS = 100;

  // ---- live feed ---------------------------------------------------------------------------

  var feed = document.getElementById("mc-feed");
  if (feed) {
    var connection = document.getElementById("mc-connection");
    var empty = document.getElementById("mc-feed-empty");

    var showState = function (key, kind) {
      var badge = document.createElement("span");
      badge.className = "badge" + (kind ? " " + kind : "");
      badge.textContent = connection.getAttribute("data-" + key) || key;
      connection.replaceChildren(badge);
    };

    // Newest first: an item goes before the first one that is older; ids already shown are
    // skipped, since the stream and the list of recent events can overlap.
    var place = function (item) {
      var id = item.getAttribute("data-id");
      if (feed.querySelector('[data-id="' + CSS.escape(id) + '"]')) return false;
      var at = item.getAttribute("data-at");
      var before = null;
      for (var node = feed.firstElementChild; node; node = node.nextElementSibling) {
        if (node.getAttribute("data-at") <= at) { before = node; break; }
      }
      feed.insertBefore(item, before);
      while (feed.children.length > MAX_ITEMS) feed.removeChild(feed.lastElementChild);
      if (empty) empty.hidden = true;
      return true;
    };

    var build = function (data) {
      var item = document.createElement("li");
      item.className = "mc-item mc-" + data.kind + " mc-new";
      item.setAttribute("data-id", data.id);
      item.setAttribute("data-type", data.type);
      item.setAttribute("data-at", data.at);
      var time = document.createElement("time");
      time.setAttribute("datetime", data.at);
      time.textContent = data.when;
      var tenant = document.createElement("a");
      tenant.className = "mc-tenant";
      tenant.href = "/mission-control/tenants/" + encodeURIComponent(data.tenant_id);
      tenant.textContent = data.tenant;
      var what = document.createElement("span");
      what.className = "mc-what";
      what.textContent = data.what;
      var where = document.createElement("span");
      where.className = "mc-where muted";
      where.textContent = data.channel + (data.conversation ? " · " : "");
      if (data.conversation) {
        var code = document.createElement("code");
        code.textContent = data.conversation;
        where.appendChild(code);
      }
      item.append(time, " ", tenant, " ", what, " ", where);
      return item;
    };

    // On every (re)connection the stream sends only what happens from then on: whatever
    // happened in between comes from the list of recent events.
    var catchUp = function () {
      fetch(feed.getAttribute("data-recent"), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || response.redirected) throw new Error("not refreshed");
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("ol");
          holder.innerHTML = html;
          Array.prototype.slice.call(holder.children).reverse().forEach(place);
        })
        .catch(function () { /* the stream keeps going; the next connection tries again */ });
    };

    var handlers = {
      ready: function () { showState("live", "ok"); catchUp(); },
      end: function () { source.close(); showState("ended", "bad"); }
    };
    (feed.getAttribute("data-types") || "").split(",").forEach(function (type) {
      if (type) handlers[type] = function (data) { if (data && data.id) place(build(data)); };
    });
    var source = window.Bob && window.Bob.listen(feed.getAttribute("data-stream"), handlers);
    if (source) {
      source.addEventListener("error", function () {
        if (source.readyState !== EventSource.CLOSED) showState("reconnecting", "warn");
      });
    } else {
      showState("unsupported", "warn");
    }
  }

  // ---- status panel ------------------------------------------------------------------------

  var panel = document.getElementById("mc-status");
  var auto = document.getElementById("mc-auto");
  if (panel && auto && window.fetch) {
    var note = document.getElementById("mc-refresh-note");
    var every = Math.max(2, parseInt(panel.getAttribute("data-every"), 10) || 5) * 1000;
    var busy = false;
    var controls = auto.closest(".mc-refresh");
    if (controls) controls.hidden = false;  // without the script there is nothing to switch
    var refresh = function () {
      if (!auto.checked || busy || document.hidden) return;
      busy = true;
      fetch(panel.getAttribute("data-source"), { credentials: "same-origin" })
        .then(function (response) {
          // A login that ended answers with the login page: stop rather than show it here.
          if (response.redirected || response.status === 401 || response.status === 403) {
            auto.checked = false;
            note.textContent = note.getAttribute("data-ended");
            return null;
          }
          if (!response.ok) throw new Error("status " + response.status);
          return response.text();
        })
        .then(function (html) {
          if (html === null) return;
          panel.innerHTML = html;
          note.textContent = "";
          panel.setAttribute("data-refreshed", String(Date.now()));
        })
        .catch(function () { note.textContent = note.getAttribute("data-failed"); })
        .then(function () { busy = false; });
    };
    setInterval(refresh, every);
  }
})();
