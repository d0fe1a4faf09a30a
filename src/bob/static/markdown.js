// Bob's replies are Markdown-ish text. This renders the subset they use (paragraphs, "-" / "*"
// and "1." lists, "#" headings, **bold**, *italic*, `code`, pipe tables, http(s) links) as DOM
// nodes. Text only ever becomes text nodes, never parsed HTML, so markup in a reply stays
// literal. One file for the chat page, the console and the widget, whose bundle includes it
// (bob/widget/bundle.py): this top-level var is a global on a page and a local in the bundle.
var BobMarkdown = (function () {
  "use strict";

  var ITEM = /^\s{0,3}([-*+\u2022]|\d{1,9}[.)])\s+(.*)$/;
  var HEADING = /^\s{0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$/;
  var ROW = /^\s*\|.*\|\s*$/;
  var RULE = /^[\s:|-]*\|[\s:|-]*$/;
  var WEB = /^https?:\/\/[^\/?#\s]/i;
  // Leftmost first: **bold**, *italic*, `code`, [text](url), a bare http(s) URL.
  var INLINE = /\*\*(\S.*?)\*\*|\*(\S[^*]*?)\*|`([^`]+)`|\[([^\]]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)|(https?:\/\/[^\s<>"]+)/;

  function render(text) {
    var out = document.createDocumentFragment(), m;
    var lines = String(text == null ? "" : text).replace(/\r\n?/g, "\n").split("\n");
    for (var i = 0; i < lines.length;) {
      if (!lines[i].trim()) i++;
      else if (ITEM.test(lines[i])) i = list(out, lines, i);
      else if (isTable(lines, i)) i = table(out, lines, i);
      else if ((m = HEADING.exec(lines[i]))) { inline(add(add(out, "p"), "strong"), m[1]); i++; }
      else i = paragraph(out, lines, i);
    }
    return out;
  }

  function isTable(lines, i) {
    var next = lines[i + 1] || "";
    return ROW.test(lines[i]) && RULE.test(next) && next.indexOf("-") >= 0;
  }

  // Single line breaks are kept: replies use them, and a chat bubble is no place to reflow.
  function paragraph(out, lines, i) {
    var p = add(out, "p");
    do {
      if (p.firstChild) add(p, "br");
      inline(p, lines[i].trim());
      i++;
    } while (i < lines.length && lines[i].trim() && !ITEM.test(lines[i]) &&
      !HEADING.test(lines[i]) && !isTable(lines, i));
    return i;
  }

  function list(out, lines, i) {
    var first = ITEM.exec(lines[i]), ordered = /\d/.test(first[1]), m, next;
    var box = add(out, ordered ? "ol" : "ul"), item = null;
    if (ordered && parseInt(first[1], 10) !== 1) box.start = parseInt(first[1], 10);
    for (; i < lines.length; i++) {
      m = ITEM.exec(lines[i]);
      if (m && /\d/.test(m[1]) === ordered) inline(item = add(box, "li"), m[2]);
      else if (m) break;
      else if (!lines[i].trim()) {
        // A blank line between two items of one list does not end it.
        next = ITEM.exec(lines[i + 1] || "");
        if (!next || /\d/.test(next[1]) !== ordered) break;
      } else if (/^\s/.test(lines[i])) {
        add(item, "br");
        inline(item, lines[i].trim());
      } else break;
    }
    return i;
  }

  function table(out, lines, i) {
    var t = add(out, "table"), row = add(add(t, "thead"), "tr"), body = null;
    cells(lines[i]).forEach(function (c) { inline(add(row, "th"), c); });
    for (i += 2; i < lines.length && ROW.test(lines[i]); i++) {
      row = add(body || (body = add(t, "tbody")), "tr");
      cells(lines[i]).forEach(function (c) { inline(add(row, "td"), c); });
    }
    return i;
  }

  function cells(line) {
    return line.trim().replace(/^\||\|$/g, "").split("|").map(function (c) { return c.trim(); });
  }

  function inline(parent, text) {
    var m, node, end, url;
    while ((m = INLINE.exec(text))) {
      end = m.index + m[0].length;
      if (m[1] != null) inline(node = document.createElement("strong"), m[1]);
      else if (m[2] != null) inline(node = document.createElement("em"), m[2]);
      else if (m[3] != null) {
        node = document.createElement("code");
        node.textContent = m[3];
      } else if (m[4] != null) node = WEB.test(m[5]) ? link(m[5], m[4]) : document.createTextNode(m[0]);
      else {
        url = trimUrl(m[6]);
        end = m.index + url.length;
        node = link(url, url);
      }
      if (m.index) parent.appendChild(document.createTextNode(text.slice(0, m.index)));
      parent.appendChild(node);
      text = text.slice(end);
    }
    if (text) parent.appendChild(document.createTextNode(text));
  }

  // Drops trailing punctuation, but keeps a ")" that closes a "(" inside the URL.
  function trimUrl(u) {
    var c;
    while ((c = u.charAt(u.length - 1)) && ".,;:!?'\")]}*".indexOf(c) >= 0) {
      if (c === ")" && u.split("(").length >= u.split(")").length) break;
      u = u.slice(0, -1);
    }
    return u;
  }

  // A link only to an http(s) address; anything else (javascript:, data:, …) is the text alone.
  function link(href, text) {
    href = String(href || "");
    if (!WEB.test(href)) return document.createTextNode(text);
    var a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.textContent = text;
    return a;
  }

  function add(parent, tag) {
    return parent.appendChild(document.createElement(tag));
  }

  return { render: render, link: link };
})();
