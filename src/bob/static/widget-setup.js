// Widget Setup: the live preview follows the appearance form as it is edited, and the colour
// picker and the hex field stay in step. The preview is the page's own markup, not the widget.
(function () {
  "use strict";
  var form = document.getElementById("look-form");
  var site = document.getElementById("widget-preview");
  if (!form || !site) return;

  // The widget's own texts for what the preview shows (mirrors static/widget/widget.js).
  var L = {
    en: { ph: "Type your message…", send: "Send", hello: "Hi! I'm {name}. How can I help you today?" },
    pt: { ph: "Digite sua mensagem…", send: "Enviar", hello: "Olá! Eu sou {name}. Como posso ajudar você hoje?" },
    es: { ph: "Escribe tu mensaje…", send: "Enviar", hello: "¡Hola! Soy {name}. ¿En qué puedo ayudarte hoy?" },
    fr: { ph: "Écrivez votre message…", send: "Envoyer", hello: "Bonjour ! Je suis {name}. Comment puis-je vous aider aujourd'hui ?" },
    de: { ph: "Nachricht eingeben…", send: "Senden", hello: "Hallo! Ich bin {name}. Wie kann ich Ihnen heute helfen?" },
    it: { ph: "Scrivi il tuo messaggio…", send: "Invia", hello: "Ciao! Sono {name}. Come posso aiutarti oggi?" },
    nl: { ph: "Typ je bericht…", send: "Versturen", hello: "Hallo! Ik ben {name}. Waarmee kan ik je vandaag helpen?" },
    pl: { ph: "Wpisz wiadomość…", send: "Wyślij", hello: "Cześć! Jestem {name}. W czym mogę dziś pomóc?" },
    ja: { ph: "メッセージを入力…", send: "送信", hello: "こんにちは！{name}です。本日はどのようなご用件でしょうか？" }
  };
  var HEX = /^#[0-9a-f]{6}$/i;
  var widget = site.querySelector(".wp-widget");
  var name = site.getAttribute("data-name") || "Bob";
  var hex = document.getElementById("f-color");
  var picker = document.getElementById("f-color-pick");

  function part(which) { return site.querySelector('[data-part="' + which + '"]'); }
  function value(field) { var el = form.elements[field]; return el ? el.value : ""; }

  // WCAG relative luminance and contrast ratio, as the widget computes its text colour.
  function lum(color) {
    var c = [1, 3, 5].map(function (i) {
      var v = parseInt(color.substr(i, 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function ratio(a, b) { return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
  function textOn(accent) {
    var la = lum(accent), white = ratio(la, 1), dark = ratio(la, lum("#111111")), black = ratio(la, 0);
    return white >= 4.5 ? "#fff" : dark >= 4.5 ? "#111" : white >= black ? "#fff" : "#000";
  }

  function language() {
    var chosen = value("language");
    if (chosen && chosen !== "auto" && L[chosen]) return chosen;
    var page = site.getAttribute("data-page-lang");
    return L[page] ? page : "en";
  }

  function draw() {
    var accent = HEX.test(value("color")) ? value("color") : null;
    if (accent) {
      widget.style.setProperty("--a", accent);
      widget.style.setProperty("--on", textOn(accent));
    }
    hex.setAttribute("aria-invalid", accent ? "false" : "true");
    widget.classList.toggle("wp-left", value("position") === "bottom-left");
    var lang = language(), t = L[lang];
    var greeting = (value("greeting_" + lang) || "").trim();
    var bubble = part("greeting");
    bubble.textContent = greeting || t.hello.replace("{name}", name);
    bubble.setAttribute("lang", lang);
    part("placeholder").textContent = t.ph;
    part("send").textContent = t.send;
    var label = (value("launcher_label") || "").trim();
    part("label").textContent = label;
    part("label").hidden = !label;
  }

  form.addEventListener("input", function (event) {
    if (event.target === picker) hex.value = picker.value;
    else if (event.target === hex && HEX.test(hex.value)) picker.value = hex.value.toLowerCase();
    draw();
  });
  form.addEventListener("change", draw);
  draw();
})();
