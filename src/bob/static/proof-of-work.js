// Solves the proof-of-work challenge a business may ask of a new conversation, on Bob's own chat
// page (door 1) and in the widget (door 2), whose bundle includes this file (bob/widget/bundle.py):
// this top-level var is a global on a page and a local in the bundle. The challenge is ALTCHA v2
// with iterated SHA-256: find the counter whose key starts with keyPrefix. SubtleCrypto needs a
// secure context (https, or localhost).
var BobProofOfWork = (function () {
  "use strict";

  function bytes(h) {
    var a = new Uint8Array(h.length >> 1);
    for (var i = 0; i < a.length; i++) a[i] = parseInt(h.substr(i * 2, 2), 16);
    return a;
  }

  function hex(a) {
    for (var s = "", i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
    return s;
  }

  // Resolves with the base64 payload to send as the X-Altcha header.
  function solve(challenge) {
    var p = challenge.parameters, subtle = window.crypto && window.crypto.subtle;
    if (!subtle) return Promise.reject(new Error("SubtleCrypto is unavailable on this page"));
    var seed = bytes(p.salt + p.nonce), prefix = String(p.keyPrefix).toLowerCase();
    var head = Math.ceil(prefix.length / 2), length = p.keyLength || 32;

    function key(counter) {
      var data = new Uint8Array(seed.length + 4);
      data.set(seed);
      new DataView(data.buffer).setUint32(seed.length, counter);
      var round = function (input, left) {
        return subtle.digest("SHA-256", input).then(function (hash) {
          return left > 1 ? round(hash, left - 1) : new Uint8Array(hash);
        });
      };
      return round(data, p.cost || 1);
    }

    // In batches, so that the digests of one batch run side by side.
    function from(start) {
      var batch = [];
      for (var i = 0; i < 512; i++) batch.push(key(start + i));
      return Promise.all(batch).then(function (keys) {
        for (var i = 0; i < keys.length; i++) {
          if (hex(keys[i].subarray(0, head)).indexOf(prefix) === 0) {
            var solution = { counter: start + i, derivedKey: hex(keys[i].subarray(0, length)) };
            return btoa(JSON.stringify({ challenge: challenge, solution: solution }));
          }
        }
        if (start > 4e6) throw new Error("no solution found");
        return from(start + 512);
      });
    }
    return from(0);
  }

  return { solve: solve };
})();
