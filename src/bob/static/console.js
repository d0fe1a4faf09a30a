// The operator console: follows the tenant's conversation events and refreshes the page's
// parts in place. Every action is a plain form; this only spares reloads.
(function () {
  "use strict";
  if (!window.Bob) return;
  var TYPES = ["conversation.created", "message.created", "conversation.handoff_requested",
    "conversation.assigned", "conversation.closed", "conversation.returned_to_bot"];

  function parse(text) {
    var template = document.createElement("template");
    template.innerHTML = text;
    return template.content;
  }

  function fetchPart(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      // A redirect here is the login page: the session has ended, nothing to swap in.
      if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
      return response.text();
    }).then(parse);
  }

  // One refresh at a time; events arriving meanwhile ask for one more afterwards.
  function coalesce(run) {
    var running = false, again = false;
    function go() {
      if (running) { again = true; return; }
      running = true;
      run().catch(function () { /* the next event or reconnect tries again */ }).then(function () {
        running = false;
        if (again) { again = false; go(); }
      });
    }
    return go;
  }

  // Replaces `target`'s content with `source`'s; focus inside it stays on the same control.
  function swap(target, source) {
    var active = document.activeElement;
    var key = active && target.contains(active) ? active.getAttribute("data-focus-key") || "" : null;
    target.replaceChildren.apply(target, Array.prototype.slice.call(source.childNodes));
    if (key === null) return;
    var next = (key && target.querySelector('[data-focus-key="' + key + '"]')) ||
      target.querySelector("[data-focus-fallback]") || target.querySelector("a[href], button");
    (next || document.getElementById("main")).focus();
  }

  function follow(url, onEvent, onReady) {
    var state = document.getElementById("console-live");
    var show = function (on) {
      if (!state) return;
      state.hidden = false;
      state.classList.toggle("on", on);
      state.textContent = state.getAttribute(on ? "data-on" : "data-off");
    };
    var source = null;
    var handlers = {
      ready: function () { show(true); onReady(); },
      end: function () { if (source) source.close(); if (state) state.hidden = true; },
      error: function () { if (source && source.readyState !== 2) show(false); else if (state) state.hidden = true; }
    };
    TYPES.forEach(function (type) { handlers[type] = function (payload) { onEvent(type, payload); }; });
    source = Bob.listen(url, handlers);
  }

  // Bob's and the team's messages arrive as text; they are shown as Markdown, built as nodes.
  function render(root) {
    if (!window.BobMarkdown) return;
    root.querySelectorAll("[data-markdown]").forEach(function (node) {
      node.replaceChildren(BobMarkdown.render(node.textContent));
      node.removeAttribute("data-markdown");
    });
  }

  function conversationOf(payload) {
    return payload && payload.data && payload.data.conversation ? payload.data.conversation : {};
  }

  // ---- the list ----
  var list = document.getElementById("console-list");
  if (list) {
    var HIGHLIGHT_MS = 6000;
    var changed = {}; // conversation id -> until when its row stays highlighted
    var refreshList = coalesce(function () {
      var before = {};
      list.querySelectorAll("tr[data-id]").forEach(function (row) {
        before[row.getAttribute("data-id")] = row.getAttribute("data-status");
      });
      return fetchPart(list.getAttribute("data-fragment")).then(function (content) {
        swap(list, content);
        var now = Date.now();
        list.querySelectorAll("tr[data-id]").forEach(function (row) {
          var id = row.getAttribute("data-id");
          if (before[id] !== row.getAttribute("data-status")) changed[id] = now + HIGHLIGHT_MS;
          // Kept across the refreshes that follow one change closely.
          if ((changed[id] || 0) > now) row.classList.add("is-new");
        });
      });
    });
    follow(list.getAttribute("data-events"), function (type) {
      if (type === "conversation.handoff_requested") Bob.announce(list.getAttribute("data-waiting"));
      refreshList();
    }, refreshList);
  }

  // ---- one conversation ----
  var detail = document.getElementById("console-detail");
  if (detail) {
    var id = detail.getAttribute("data-conversation");
    var transcript = document.getElementById("transcript");
    var scroller = document.getElementById("transcript-scroll");
    var toBottom = function () { scroller.scrollTop = scroller.scrollHeight; };
    render(transcript);
    toBottom();
    var refreshDetail = coalesce(function () {
      return fetchPart(detail.getAttribute("data-live")).then(function (content) {
        ["conversation-summary", "conversation-actions"].forEach(function (part) {
          var fresh = content.querySelector("#" + part);
          var here = document.getElementById(part);
          if (fresh && here) swap(here, fresh);
        });
        var near = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
        var known = {};
        transcript.querySelectorAll("li[data-id]").forEach(function (item) { known[item.getAttribute("data-id")] = true; });
        content.querySelectorAll("#transcript > li[data-id]").forEach(function (item) {
          if (known[item.getAttribute("data-id")]) return;
          var empty = transcript.querySelector("[data-empty]");
          if (empty) empty.remove();
          // Appended, never replaced: the log announces only what is new.
          transcript.appendChild(item);
          render(item);
        });
        if (near) toBottom();
      });
    });
    follow(detail.getAttribute("data-events"), function (type, payload) {
      if (conversationOf(payload).id === id) refreshDetail();
    }, refreshDetail);

    var form = document.getElementById("reply-form");
    if (form) {
      var box = form.querySelector("textarea");
      var problem = document.getElementById("reply-error");
      var say = function (text) { problem.textContent = text || ""; problem.hidden = !text; };
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          form.requestSubmit();
        }
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        Bob.send(form.action, { method: "POST", body: new FormData(form) }).then(function (response) {
          return response.text().then(function (text) {
            var landed = new URL(response.url).pathname;
            if (response.ok && landed === new URL(form.action).pathname.replace(/\/reply$/, "")) {
              box.value = "";
              say("");
              Bob.announce(detail.getAttribute("data-sent"));
              refreshDetail();
              return;
            }
            var page = new DOMParser().parseFromString(text, "text/html");
            var error = page.querySelector("main .flash.error");
            if (error) say(error.textContent);
            else window.location.assign(response.url);
          });
        }).catch(function () {
          say(detail.getAttribute("data-failed"));
        }).then(function () {
          button.disabled = false;
          box.focus();
        });
      });
    }
  }
})();
