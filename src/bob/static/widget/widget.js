function (config, script) {
  // Bob's chat widget. The server serves this function, after the shared markdown.js and
  // proof-of-work.js, called as (this)(config, document.currentScript); see README.md here.
  // Plain DOM, no dependencies. Everything lives in a shadow root, so the host page's CSS
  // cannot reach in and ours cannot leak out. Visitor, operator and model text only ever
  // goes through textContent / createTextNode (BobMarkdown too), never through HTML parsing.
  "use strict";

  var w = window, d = document;
  // An element with id="Bob" also shows up as window.Bob; only another widget has .open.
  if (w.Bob && typeof w.Bob.open === "function") {
    console.warn("Bob widget: the widget script is included more than once on this page; only the first copy runs.");
    return;
  }
  config = config || {};
  var attr = function (n) { return script && script.getAttribute ? script.getAttribute(n) : null; };
  var key = config.key || attr("data-widget-key");
  var api = String(config.apiBase || "").replace(/\/+$/, "");
  if (!key) {
    console.warn("Bob widget: no widget key; the script tag needs data-widget-key=\"pk_live_…\" (see Widget Setup).");
    return;
  }

  // UI strings. "ask" must stay word for word: the server recognizes it as a request for a person.
  var L = {
    en: { open: "Open chat", close: "Close chat", label: "Message", ph: "Type your message…", send: "Send",
      human: "Talk to a person", ask: "I'd like to talk to a person", typing: "{name} is typing",
      hello: "Hi! I'm {name}. How can I help you today?", pending: "A person from the team will reply here",
      team: "You're chatting with the team", err: "Sorry, something went wrong. Please try again.",
      busy: "Too many messages. Please wait a moment and try again.", sources: "Sources:" },
    pt: { open: "Abrir chat", close: "Fechar chat", label: "Mensagem", ph: "Digite sua mensagem…", send: "Enviar",
      human: "Falar com uma pessoa", ask: "Quero falar com uma pessoa", typing: "{name} está digitando",
      hello: "Olá! Eu sou {name}. Como posso ajudar você hoje?", pending: "Uma pessoa da equipe vai responder aqui",
      team: "Você está conversando com a equipe", err: "Desculpe, algo deu errado. Tente novamente.",
      busy: "Muitas mensagens. Aguarde um momento e tente novamente.", sources: "Fontes:" },
    es: { open: "Abrir chat", close: "Cerrar chat", label: "Mensaje", ph: "Escribe tu mensaje…", send: "Enviar",
      human: "Hablar con una persona", ask: "Quiero hablar con una persona", typing: "{name} está escribiendo",
      hello: "¡Hola! Soy {name}. ¿En qué puedo ayudarte hoy?", pending: "Una persona del equipo te responderá aquí",
      team: "Estás hablando con el equipo", err: "Lo sentimos, algo salió mal. Inténtalo de nuevo.",
      busy: "Demasiados mensajes. Espera un momento e inténtalo de nuevo.", sources: "Fuentes:" },
    fr: { open: "Ouvrir le chat", close: "Fermer le chat", label: "Message", ph: "Écrivez votre message…", send: "Envoyer",
      human: "Parler à une personne", ask: "Je voudrais parler à une personne", typing: "{name} est en train d'écrire",
      hello: "Bonjour ! Je suis {name}. Comment puis-je vous aider aujourd'hui ?",
      pending: "Une personne de l'équipe vous répondra ici", team: "Vous discutez avec l'équipe",
      err: "Désolé, une erreur s'est produite. Veuillez réessayer.",
      busy: "Trop de messages. Patientez un instant, puis réessayez.", sources: "Sources :" },
    de: { open: "Chat öffnen", close: "Chat schließen", label: "Nachricht", ph: "Nachricht eingeben…", send: "Senden",
      human: "Mit einem Menschen sprechen", ask: "Ich möchte mit einem Menschen sprechen", typing: "{name} schreibt",
      hello: "Hallo! Ich bin {name}. Wie kann ich Ihnen heute helfen?",
      pending: "Eine Person aus dem Team antwortet Ihnen hier", team: "Sie chatten mit dem Team",
      err: "Entschuldigung, etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
      busy: "Zu viele Nachrichten. Bitte warten Sie einen Moment.", sources: "Quellen:" },
    it: { open: "Apri la chat", close: "Chiudi la chat", label: "Messaggio", ph: "Scrivi il tuo messaggio…", send: "Invia",
      human: "Parla con una persona", ask: "Vorrei parlare con una persona", typing: "{name} sta scrivendo",
      hello: "Ciao! Sono {name}. Come posso aiutarti oggi?", pending: "Una persona del team ti risponderà qui",
      team: "Stai parlando con il team", err: "Spiacenti, qualcosa è andato storto. Riprova.",
      busy: "Troppi messaggi. Attendi un momento e riprova.", sources: "Fonti:" },
    nl: { open: "Chat openen", close: "Chat sluiten", label: "Bericht", ph: "Typ je bericht…", send: "Versturen",
      human: "Met een medewerker praten", ask: "Ik wil met een medewerker spreken", typing: "{name} is aan het typen",
      hello: "Hallo! Ik ben {name}. Waarmee kan ik je vandaag helpen?",
      pending: "Een medewerker van het team antwoordt je hier", team: "Je chat met het team",
      err: "Sorry, er ging iets mis. Probeer het opnieuw.",
      busy: "Te veel berichten. Wacht even en probeer het opnieuw.", sources: "Bronnen:" },
    pl: { open: "Otwórz czat", close: "Zamknij czat", label: "Wiadomość", ph: "Wpisz wiadomość…", send: "Wyślij",
      human: "Porozmawiaj z konsultantem", ask: "Chcę porozmawiać z konsultantem", typing: "{name} pisze",
      hello: "Cześć! Jestem {name}. W czym mogę dziś pomóc?", pending: "Osoba z naszego zespołu odpowie tutaj",
      team: "Rozmawiasz z naszym zespołem", err: "Przepraszamy, coś poszło nie tak. Spróbuj ponownie.",
      busy: "Zbyt wiele wiadomości. Poczekaj chwilę i spróbuj ponownie.", sources: "Źródła:" },
    ja: { open: "チャットを開く", close: "チャットを閉じる", label: "メッセージ", ph: "メッセージを入力…", send: "送信",
      human: "担当者と話す", ask: "担当者と話したいです", typing: "{name}が入力中です",
      hello: "こんにちは！{name}です。本日はどのようなご用件でしょうか？", pending: "担当者がこちらで返信します",
      team: "担当者とチャット中です", err: "申し訳ありません。エラーが発生しました。もう一度お試しください。",
      busy: "メッセージが多すぎます。しばらくしてからもう一度お試しください。", sources: "参照元:" }
  };

  var CSS = [
    ":host { all: initial; }",
    // all:initial on our own root cuts every inherited property (color, font-size, …) that the
    // page may force onto the host element, even with !important.
    ".w { all: initial; position: fixed; z-index: 2147483000; bottom: 20px; right: 20px; display: flex;",
    " flex-direction: column-reverse; align-items: flex-end; font-family: system-ui, -apple-system, 'Segoe UI', Roboto,",
    " 'Helvetica Neue', Arial, 'Noto Sans', 'Hiragino Sans', 'Noto Sans CJK JP', sans-serif; font-size: 14px;",
    " line-height: 20px; font-weight: 400; color: #1a1a1a; direction: ltr; text-align: left; color-scheme: light;",
    " --bg: #fff; --fg: #1a1a1a; --b: #f1f3f5; --op: #eaf4ec; --opb: #2e7d32; --mut: #4d535a; --line: #dfe2e6;",
    " --bd: #767676; --err: #b00020; --st: #f5f6f8; --ring: var(--rl); }",
    ".w.left { right: auto; left: 20px; align-items: flex-start; }",
    ".w *, .w *::before, .w *::after { box-sizing: border-box; }",
    "[hidden] { display: none !important; }",
    "button, textarea { font: inherit; color: inherit; margin: 0; letter-spacing: inherit; }",
    "button { cursor: pointer; }",
    ":focus { outline: none; }",
    ":focus-visible { outline: 3px solid var(--ring); outline-offset: 2px; }",
    ".sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0; overflow: hidden;",
    " clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }",
    ".launcher { display: flex; align-items: center; gap: 8px; height: 52px; min-width: 52px; padding: 0 14px;",
    " border: 0; border-radius: 26px; background: var(--a); color: var(--on); font-weight: 600;",
    " box-shadow: 0 4px 14px rgba(0,0,0,.25); justify-content: center; }",
    ".launcher svg { width: 24px; height: 24px; flex: none; }",
    ".panel { display: flex; flex-direction: column; width: 360px; height: 520px; max-height: calc(100vh - 100px);",
    " margin-bottom: 12px; background: var(--bg); color: var(--fg); border-radius: 12px; overflow: hidden;",
    " box-shadow: 0 8px 32px rgba(0,0,0,.28); animation: bob-in .16s ease-out; }",
    "@keyframes bob-in { from { opacity: 0; transform: translateY(8px); } }",
    ".head { display: flex; align-items: center; gap: 8px; padding: 10px 10px 10px 16px; background: var(--a); color: var(--on); }",
    ".head .name { flex: 1; font-size: 16px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }",
    ".head :focus-visible, .m.visitor :focus-visible { outline-color: var(--on); }",
    ".x { width: 36px; height: 36px; padding: 0; border: 0; border-radius: 6px; background: transparent; font-size: 24px; line-height: 36px; }",
    ".status { padding: 8px 16px; font-size: 13px; background: var(--st); border-bottom: 1px solid var(--line); }",
    ".log { flex: 1; display: flex; flex-direction: column; gap: 8px; padding: 16px; overflow-y: auto; overscroll-behavior: contain; }",
    ".log:focus-visible { outline-offset: -3px; }",
    ".m { max-width: 85%; padding: 8px 12px; border-radius: 12px; overflow-wrap: anywhere; }",
    ".visitor .t { white-space: pre-wrap; }",
    ".t p, .t ul, .t ol, .t table { margin: 0 0 8px; } .t > :last-child { margin-bottom: 0; }",
    ".t ul, .t ol { padding-left: 20px; }",
    ".t table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; font-size: 13px; }",
    ".t th, .t td { padding: 2px 6px; border: 1px solid var(--line); text-align: left; vertical-align: top; }",
    ".t code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }",
    ".m a { color: inherit; text-decoration: underline; }",
    ".assistant, .typing { align-self: flex-start; background: var(--b); border-bottom-left-radius: 4px; }",
    ".visitor { align-self: flex-end; background: var(--a); color: var(--on); border-bottom-right-radius: 4px; }",
    ".operator { align-self: flex-start; background: var(--op); border-left: 3px solid var(--opb); border-bottom-left-radius: 4px; }",
    ".who { font-size: 12px; font-weight: 600; }",
    ".src { margin-top: 6px; font-size: 12px; color: var(--mut); }",
    ".error { align-self: center; max-width: 100%; font-size: 13px; color: var(--err); text-align: center; }",
    ".typing { display: flex; gap: 4px; padding: 14px 12px; border-radius: 12px; }",
    ".dot { width: 6px; height: 6px; border-radius: 3px; background: var(--mut); animation: bob-dot 1s infinite; }",
    ".dot:nth-child(3) { animation-delay: .15s; } .dot:nth-child(4) { animation-delay: .3s; }",
    "@keyframes bob-dot { 50% { opacity: .3; } }",
    ".foot { padding: 10px 12px 12px; border-top: 1px solid var(--line); }",
    ".row { display: flex; align-items: flex-end; gap: 8px; }",
    "textarea { flex: 1; display: block; min-height: 40px; max-height: 120px; padding: 9px 11px; resize: none;",
    " border: 1px solid var(--bd); border-radius: 8px; background: var(--bg); color: var(--fg); line-height: 20px; }",
    "textarea::placeholder { color: var(--mut); opacity: 1; }",
    ".send { height: 40px; padding: 0 14px; border: 0; border-radius: 8px; background: var(--a); color: var(--on); font-weight: 600; }",
    ".human { margin-top: 8px; padding: 2px; border: 0; background: none; color: var(--fg); font-size: 13px; text-decoration: underline; }",
    "@media (prefers-color-scheme: dark) { .w { color-scheme: dark; --bg: #1e1f22; --fg: #ececec; --b: #2e3035;",
    " --op: #1f3326; --opb: #66bb6a; --mut: #b9bcc2; --line: #3a3c41; --bd: #8b8e94; --err: #ff8a80; --st: #26282c;",
    " --ring: var(--rd); } }",
    "@media (max-width: 479.98px) { .open .panel { position: fixed; inset: 0; width: auto; height: auto;",
    " max-height: none; margin: 0; border-radius: 0; } .open .launcher { display: none; } textarea { font-size: 16px; } }",
    "@media (prefers-reduced-motion: reduce) { .w * { animation: none !important; transition: none !important; } }"
  ].join("\n");

  var store = "bob:" + key;
  var saved = load();
  var shown = {};        // ids of messages already on screen
  var unmatched = [];    // texts we sent whose message id we never learned (matched against history)
  var listeners = {}, visitor = null, wantOpen = false, isOpen = false, busy = false, pollTimer = 0, withTeam = false;
  var ui = null, t = L.en, name = "Bob", dots = null;
  var pending = null;    // a challenge being solved ahead of the first message, when the business asks for one

  var Bob = {
    open: function () { if (ui) show(true); else wantOpen = true; },
    close: function () { if (ui) hide(); else wantOpen = false; },
    identify: function (o) {
      var v = {}, n = 0, k;
      if (o && typeof o === "object") {
        for (k in o) {
          if (Object.prototype.hasOwnProperty.call(o, k) && /^(string|number|boolean)$/.test(typeof o[k])) { v[k] = o[k]; n++; }
        }
      }
      visitor = n ? v : null;
    },
    on: function (ev, fn) {
      if (typeof fn === "function") (listeners[ev] = listeners[ev] || []).push(fn);
      return Bob;
    }
  };
  w.Bob = Bob;

  // Boot: the config call doubles as the allow-list check, so nothing shows on a foreign site.
  fetch(api + "/api/widget/config", { headers: { "X-Widget-Key": key }, credentials: "omit", cache: "no-store" })
    .then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(function (server) {
      merge(server || {});
      if (d.body) start(); else d.addEventListener("DOMContentLoaded", function () { try { start(); } catch (e) { broken(e); } });
    }, function (e) {
      console.warn("Bob widget: not shown. This site's origin (" + location.origin + ") is not allowed for this widget key," +
        " or Bob cannot be reached at " + api + " (" + ((e && e.message) || e) + ")." +
        " Add the origin to the key's allowed origins in Widget Setup.");
    })
    .catch(broken);

  function broken(e) { console.warn("Bob widget: could not start:", e); }

  function merge(s) {
    if (s.tenant_id) config.tenantId = s.tenant_id;
    config.persona = Object.assign({}, config.persona, s.persona);
    config.appearance = Object.assign({}, config.appearance, s.appearance);
    if (s.greeting && typeof s.greeting === "object") config.greeting = s.greeting;
    if (s.language) config.language = s.language;
    if (typeof s.challenge === "boolean") config.challenge = s.challenge;
  }

  function pick(v) {
    v = String(v || "").toLowerCase().slice(0, 2);
    return L[v] ? v : "";
  }

  function fmt(s) { return s.replace("{name}", function () { return name; }); }

  function start() {
    var ap = config.appearance || {};
    var lang = (config.language !== "auto" && pick(config.language)) || pick(attr("data-language")) ||
      pick(navigator.language) || "en";
    t = L[lang];
    name = String((config.persona && config.persona.name) || "Bob");
    var accent = /^#([0-9a-f]{3}){1,2}$/i.test(ap.color) ? ap.color : "#0b5cad";
    var pos = attr("data-position") || ap.position;
    var label = ap.launcherLabel;

    // Text on the accent colour: whichever of white / near-black contrasts more (AA needs 4.5:1).
    var la = lum(accent), white = ratio(la, 1), dark = ratio(la, lum("#111111"));
    var black = ratio(la, 0);
    var on = white >= 4.5 ? "#fff" : dark >= 4.5 ? "#111" : white >= black ? "#fff" : "#000";

    var host = el("div");
    host.id = "bob-widget";
    var root = host.attachShadow({ mode: "open" });
    // A constructed stylesheet is not subject to the page's style-src CSP; <style> is the fallback.
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", null, CSS));
    }

    var wrap = el("div", "w" + (pos === "bottom-left" ? " left" : ""));
    wrap.style.setProperty("--a", accent);
    wrap.style.setProperty("--on", on);
    // Focus rings need 3:1 against what they sit on; fall back to a neutral colour.
    wrap.style.setProperty("--rl", ratio(la, 1) >= 3 ? accent : "#1a1a1a");
    wrap.style.setProperty("--rd", ratio(la, lum("#1e1f22")) >= 3 ? accent : "#ececec");

    var launcher = button("launcher");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "bob-panel");
    launcher.appendChild(icon());
    launcher.appendChild(el("span", label ? "" : "sr", label || t.open));

    var panel = el("div", "panel");
    panel.id = "bob-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", name);

    var head = el("div", "head");
    head.appendChild(el("div", "name", name));
    var x = button("x", "×");
    x.setAttribute("aria-label", t.close);
    head.appendChild(x);

    var status = el("div", "status");
    status.setAttribute("role", "status");
    status.hidden = true;

    var log = el("div", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", name);
    log.tabIndex = 0; // scrollable region: reachable by keyboard

    var foot = el("div", "foot"), row = el("div", "row");
    var lab = el("label", "sr", t.label);
    lab.htmlFor = "bob-input";
    var ta = el("textarea");
    ta.id = "bob-input";
    ta.rows = 1;
    ta.maxLength = 4000; // the server's limit for one message
    ta.placeholder = t.ph;
    var send = button("send", t.send);
    var human = button("human", t.human);
    row.appendChild(lab);
    row.appendChild(ta);
    row.appendChild(send);
    foot.appendChild(row);
    foot.appendChild(human);

    panel.appendChild(head);
    panel.appendChild(status);
    panel.appendChild(log);
    panel.appendChild(foot);
    wrap.appendChild(launcher); // DOM order launcher → panel keeps Tab order natural; CSS puts the panel on top
    wrap.appendChild(panel);
    root.appendChild(wrap);
    d.body.appendChild(host);

    ui = { root: root, wrap: wrap, launcher: launcher, panel: panel, status: status, log: log, ta: ta, send: send, human: human };

    launcher.addEventListener("click", function () { if (isOpen) hide(); else show(true); });
    x.addEventListener("click", hide);
    wrap.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && isOpen && !e.isComposing) { e.preventDefault(); hide(); }
    });
    ta.addEventListener("keydown", function (e) {
      // keyCode 229: an IME (e.g. Japanese) is composing; Enter then confirms the text, it does not send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submit(); }
    });
    ta.addEventListener("input", grow);
    send.addEventListener("click", submit);
    human.addEventListener("click", function () { ta.focus(); say(t.ask); });

    var greeting = config.greeting && config.greeting[lang];
    fill(bubble("assistant"), greeting || fmt(t.hello));

    if (saved.session_id) history(true);
    else if (config.challenge) (pending = puzzle()).catch(function () { /* reported when used */ });
    if (wantOpen) show(true);
    else if (ap.openOnLoad && w.innerWidth >= 480) show(false); // never take over a phone's screen uninvited
  }

  function show(focus) {
    if (isOpen) return;
    isOpen = true;
    ui.panel.hidden = false;
    ui.wrap.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    down(true);
    if (focus) ui.ta.focus();
    emit("open");
  }

  function hide() {
    if (!isOpen) return;
    var inside = ui.root.activeElement; // only pull focus back if it was ours
    isOpen = false;
    ui.panel.hidden = true;
    ui.wrap.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    if (inside) ui.launcher.focus();
    emit("close");
  }

  function submit() {
    var v = ui.ta.value;
    if (!v.trim() || busy) return;
    ui.ta.value = "";
    grow();
    say(v);
  }

  function say(text) {
    text = String(text).trim();
    if (!text || busy) return;
    busy = true;
    ui.send.setAttribute("aria-disabled", "true");
    add("visitor", text);
    unmatched.push(text);
    typing(true);
    post(text, true).then(function () {
      busy = false;
      typing(false);
      ui.send.removeAttribute("aria-disabled");
    });
  }

  // One chat request, streamed. Resolves when it is over, whatever happened; never rejects.
  function post(text, mayRetry) {
    var body = { message: text }, b = null, streamed = "", finished = false;
    if (saved.session_id) body.session_id = saved.session_id;
    if (visitor) body.visitor = visitor;
    var fail = function (msg) {
      typing(false);
      if (b) b.el.remove();
      if (!ui.ta.value) { ui.ta.value = text; grow(); } // let the visitor send it again
      note(msg);
    };
    var onEvent = function (ev, data) {
      if (ev === "token" && data && typeof data.text === "string") {
        if (!b) { typing(false); b = bubble("assistant"); }
        streamed += data.text;
        write(b, streamed);
        down(false);
      } else if (ev === "done" && data) {
        finished = true;
        done(data, b);
        b = null;
      } else if (ev === "error") {
        finished = true;
        fail(t.err);
      }
    };
    // A new conversation brings a solved challenge when the business asks for one.
    var proof = !saved.session_id && config.challenge ? solved() : Promise.resolve(null);
    return proof.then(function (x) {
      var h = { "Content-Type": "application/json", Accept: "text/event-stream" };
      if (x) h["X-Altcha"] = x;
      return fetch(api + "/api/widget/chat", { method: "POST", headers: headers(h), body: JSON.stringify(body), credentials: "omit" });
    }).then(function (r) {
      if (r.ok) {
        var read = /json/.test(r.headers.get("Content-Type") || "") ? r.json().then(function (j) { onEvent("done", j); })
          : r.body && r.body.getReader ? sse(r, onEvent)
          : r.text().then(function (s) { parse(s + "\n\n", onEvent); });
        return read.then(function () { if (!finished) fail(t.err); });
      }
      return r.json().catch(function () { return {}; }).then(function (j) {
        var code = j && j.error && j.error.code;
        if (r.status === 403 && code === "visitor_mismatch" && mayRetry) {
          forget(); // the stored conversation is not ours any more: start a new one
          unmatched.push(text);
          return post(text, false);
        }
        if (r.status === 403 && /^challenge_/.test(code) && mayRetry) {
          config.challenge = true; // switched on since the page loaded, or the solution expired
          return post(text, false);
        }
        fail(r.status === 429 ? t.busy : t.err);
      });
    }).catch(function () { fail(t.err); });
  }

  function solved() {
    var p = pending || puzzle();
    pending = null; // a solution is good for one conversation
    return p.catch(function (e) { console.warn("Bob widget: could not solve the challenge:", e); return null; });
  }

  function puzzle() {
    return get("/api/widget/challenge").then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(BobProofOfWork.solve);
  }

  function done(data, b) {
    typing(false);
    if (data.session_id) {
      saved.session_id = data.session_id;
      if (data.visitor_token) saved.visitor_token = data.visitor_token;
      save();
    }
    visitor = null; // identify() data goes with one message
    if (data.reply != null) {
      // The final reply is authoritative: it may replace what was streamed (e.g. a handoff).
      fill(b || bubble("assistant"), data.reply, data.sources, data.message_id);
      emit("message", msg("assistant", data.reply, data.message_id));
    } else {
      // A person has the conversation: message_id is then the visitor's own message.
      if (b) b.el.remove();
      if (data.message_id) shown[data.message_id] = 1;
      unmatched.pop();
    }
    setStatus(data.conversation_status);
  }

  // Reads an SSE body incrementally; events end at a blank line, chunks may split anywhere.
  function sse(r, onEvent) {
    var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (c) {
        buf += dec.decode(c.value, { stream: !c.done });
        if (c.done) buf += "\n\n";
        buf = buf.replace(/\r\n|\r(?=[\s\S])/g, "\n"); // a lone trailing \r may be half of \r\n
        var end = buf.lastIndexOf("\n\n");
        if (end >= 0) {
          var events = buf.slice(0, end);
          buf = buf.slice(end + 2);
          parse(events, onEvent);
        }
        return c.done ? null : pump();
      });
    }
    return pump();
  }

  function parse(text, onEvent) {
    text.split(/\n\n+/).forEach(function (block) {
      var ev = "message", data = [], json;
      block.split("\n").forEach(function (line) {
        var i = line.indexOf(":");
        var f = i < 0 ? line : line.slice(0, i), v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (f === "event") ev = v;
        else if (f === "data") data.push(v);
      });
      if (!data.length) return;
      try { json = JSON.parse(data.join("\n")); } catch (e) { return; }
      onEvent(ev, json);
    });
  }

  // Loads the transcript (on boot, and every 4 s while a person has the conversation).
  function history(first) {
    if (!saved.session_id) return;
    if (busy && !first) return poll(); // a reply is streaming in; look again later
    get("/api/widget/history?session_id=" + encodeURIComponent(saved.session_id)).then(function (r) {
      if (r.status === 403 || r.status === 404) { forget(); setStatus("bot"); return; }
      if (!r.ok) throw new Error();
      return r.json().then(function (h) {
        (h.messages || []).forEach(function (m) {
          if (!m || shown[m.id]) return;
          if (m.role === "visitor") {
            var i = unmatched.indexOf(String(m.content).trim());
            if (i >= 0) { unmatched.splice(i, 1); shown[m.id] = 1; return; }
          }
          if (/^(visitor|assistant|operator)$/.test(m.role)) {
            fill(bubble(m.role, m.author_name), m.content, m.sources, m.id);
            emit("message", msg(m.role, m.content, m.id));
          }
        });
        setStatus(h.conversation_status);
      });
    }).catch(function () { if (withTeam) poll(); });
  }

  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(function () { pollTimer = 0; history(false); }, 4000);
  }

  function setStatus(s) {
    var text = s === "pending_human" ? t.pending : s === "human" ? t.team : "";
    ui.status.textContent = text;
    ui.status.hidden = !text;
    withTeam = !!text;
    if (text && ui.root.activeElement === ui.human) ui.ta.focus(); // keep focus when the button goes away
    ui.human.hidden = !!text;
    if (text) poll();
    else { clearTimeout(pollTimer); pollTimer = 0; }
  }

  function add(role, text) {
    fill(bubble(role), text);
    emit("message", msg(role, text));
  }

  function msg(role, content, id) {
    var m = { role: role, content: content };
    if (id) m.id = id;
    return m;
  }

  function note(text) {
    var n = el("div", "m error", text);
    ui.log.appendChild(n);
    down(true);
  }

  function bubble(role, author) {
    var b = el("div", "m " + role);
    if (role === "operator" && author) b.appendChild(el("div", "who", String(author)));
    var body = el("div", "t");
    b.appendChild(body);
    ui.log.insertBefore(b, dots);
    down(true);
    return { el: b, t: body, role: role };
  }

  // The visitor's own words stay as typed; Bob's and the team's replies are Markdown.
  function write(b, text) {
    if (b.role === "visitor") { b.t.textContent = text; return; }
    b.t.textContent = "";
    b.t.appendChild(BobMarkdown.render(text));
  }

  // Sets a bubble's text and its sources, each linked to its page when it has one.
  function fill(b, text, sources, id) {
    write(b, String(text == null ? "" : text));
    var cited = (Array.isArray(sources) ? sources : []).filter(function (x) { return x && x.title; });
    if (cited.length) {
      var src = el("div", "src", t.sources + " ");
      cited.forEach(function (x, i) {
        if (i) src.appendChild(d.createTextNode(", "));
        src.appendChild(BobMarkdown.link(x.source_url, String(x.title)));
      });
      b.el.appendChild(src);
    }
    if (id) shown[id] = 1;
    down(false);
  }

  function typing(on) {
    if (on && !dots) {
      dots = el("div", "typing");
      dots.appendChild(el("span", "sr", fmt(t.typing)));
      for (var i = 0; i < 3; i++) dots.appendChild(el("span", "dot"));
      ui.log.appendChild(dots);
      down(true);
    } else if (!on && dots) {
      dots.remove();
      dots = null;
    }
  }

  // Keeps the newest message in view, unless the visitor scrolled up to read (force overrides).
  function down(force) {
    var l = ui.log;
    if (force || l.scrollHeight - l.scrollTop - l.clientHeight < 80) l.scrollTop = l.scrollHeight;
  }

  function grow() {
    var ta = ui.ta;
    ta.style.height = "auto";
    ta.style.height = Math.min(ta.scrollHeight + 2, 120) + "px";
  }

  function emit(ev, data) {
    (listeners[ev] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { console.warn("Bob widget: a \"" + ev + "\" listener failed:", e); }
    });
  }

  function headers(extra) {
    var h = { "X-Widget-Key": key }, k;
    if (saved.visitor_token) h["X-Visitor-Token"] = saved.visitor_token;
    for (k in extra) h[k] = extra[k];
    return h;
  }

  function get(path) {
    return fetch(api + path, { headers: headers({}), credentials: "omit", cache: "no-store" });
  }

  // localStorage may be unavailable (privacy modes, sandboxed frames): then the chat lasts one page.
  function load() {
    try {
      var v = JSON.parse(localStorage.getItem(store));
      if (v && typeof v.session_id === "string") return v;
    } catch (e) { /* nothing stored */ }
    return {};
  }

  function save() {
    try {
      localStorage.setItem(store, JSON.stringify({ session_id: saved.session_id, visitor_token: saved.visitor_token || null }));
    } catch (e) { /* not persistent */ }
  }

  function forget() {
    saved = {};
    unmatched = [];
    try { localStorage.removeItem(store); } catch (e) { /* nothing stored */ }
  }

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function button(cls, text) {
    var b = el("button", cls, text);
    b.type = "button";
    return b;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg", s = d.createElementNS(ns, "svg"), p = d.createElementNS(ns, "path");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    p.setAttribute("fill", "currentColor");
    p.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    s.appendChild(p);
    return s;
  }

  // WCAG relative luminance and contrast ratio.
  function lum(hex) {
    hex = hex.slice(1);
    if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
    var c = [0, 2, 4].map(function (i) {
      var v = parseInt(hex.substr(i, 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function ratio(a, b) { return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
}
