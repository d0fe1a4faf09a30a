// The chat box on Bob's own site: talks to door 1 (POST /api/chat, same origin only), and
// while a person has the conversation, polls the visitor's transcript for their replies.
// The proof that a conversation is this visitor's travels in the HttpOnly cookie the first reply
// sets, which same-origin requests carry by themselves: no script here ever holds it.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  if (!form) return;
  var log = document.getElementById("chat-log");
  var input = document.getElementById("chat-input");
  var button = form.querySelector("button");
  var businessId = form.getAttribute("data-business-id") || undefined;
  var storeKey = "bob-site-chat:" + (businessId || "platform");
  var saved = {};
  try { saved = JSON.parse(sessionStorage.getItem(storeKey) || "{}"); } catch (e) { saved = {}; }
  delete saved.visitor_token; // kept by earlier versions of this page; the cookie replaces it
  var shown = {};
  var polling = null;

  function remember() { sessionStorage.setItem(storeKey, JSON.stringify(saved)); }

  function add(role, text, sources, id, author) {
    if (id) { if (shown[id]) return; shown[id] = true; }
    var item = document.createElement("li");
    item.className = "msg msg-" + role;
    if (author) item.appendChild(paragraph("msg-who", author));
    if (role === "assistant" || role === "operator") {
      // Replies are Markdown, built as DOM nodes (markdown.js), never parsed as HTML.
      var body = document.createElement("div");
      body.className = "msg-text";
      body.appendChild(BobMarkdown.render(text));
      item.appendChild(body);
    } else {
      item.appendChild(paragraph("", text));
    }
    if (sources && sources.length) {
      var cite = paragraph("msg-sources", "Source: ");
      sources.forEach(function (s, i) {
        if (i) cite.appendChild(document.createTextNode(", "));
        cite.appendChild(BobMarkdown.link(s.source_url, s.title));
      });
      item.appendChild(cite);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function paragraph(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function poll() {
    var query = "session_id=" + encodeURIComponent(saved.session_id) +
      (businessId ? "&business_id=" + encodeURIComponent(businessId) : "");
    fetch("/api/chat/transcript?" + query)
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.messages.forEach(function (m) {
          if (m.role === "operator") add("operator", m.content, null, m.id, m.author_name);
        });
        if (data.conversation_status === "bot" || data.conversation_status === "closed") stopPolling();
      })
      .catch(function () { /* try again on the next tick */ });
  }

  function startPolling() { if (!polling) polling = setInterval(poll, 4000); }
  function stopPolling() { if (polling) { clearInterval(polling); polling = null; } }

  // Posts a message. When the business asks a new conversation to solve a challenge first
  // (403 challenge_…), solves one (proof-of-work.js) and sends the message again with it.
  function send(message, proof) {
    var headers = { "Content-Type": "application/json" };
    if (proof) headers["X-Altcha"] = proof;
    return fetch("/api/chat", {
      method: "POST",
      headers: headers,
      body: JSON.stringify({ session_id: saved.session_id, message: message, business_id: businessId })
    }).then(function (response) {
      return response.json().then(function (data) {
        var code = (data && data.error && data.error.code) || "";
        if (!proof && response.status === 403 && /^challenge_/.test(code) && window.BobProofOfWork) {
          var query = businessId ? "?business_id=" + encodeURIComponent(businessId) : "";
          return fetch("/api/chat/challenge" + query)
            .then(function (answer) { return answer.json(); })
            .then(window.BobProofOfWork.solve)
            .then(function (solution) { return send(message, solution); });
        }
        return { ok: response.ok, data: data };
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = input.value.trim();
    if (!message) return;
    add("visitor", message);
    input.value = "";
    button.disabled = true;
    send(message, null)
      .then(function (result) {
        if (!result.ok) {
          var error = result.data.error;
          if (error && error.code === "visitor_mismatch") {
            // The browser no longer holds this conversation's cookie: start a new one.
            stopPolling();
            saved = {};
            remember();
            add("error", "This conversation cannot be continued here; your next message starts a new one.");
            return;
          }
          add("error", error ? error.message : "Something went wrong.");
          return;
        }
        var data = result.data;
        saved.session_id = data.session_id;
        remember();
        if (data.reply) add("assistant", data.reply, data.sources, data.message_id);
        if (data.conversation_status === "pending_human" || data.conversation_status === "human") {
          if (!data.reply) add("system", "A person from the team will answer here.");
          startPolling();
        }
      })
      .catch(function () { add("error", "Bob could not be reached. Try again in a moment."); })
      .finally(function () { button.disabled = false; input.focus(); });
  });
})();
