/* cartback tracker (docs/api/public-capture.md): reports the cart to cartback.
   <script src="https://YOUR-CARTBACK/tracker.js" data-key="pk_..." async></script> */
(function (w, d) {
  "use strict";
  if (w.cartback && w.cartback.sessionId) return;
  var script = d.currentScript;
  var key = script && script.getAttribute("data-key");
  var locale = script && script.getAttribute("data-locale");
  var base = script ? String(script.src).replace(/\/tracker\.js(\?.*)?$/, "") : "";
  var url = base + "/api/v1/public/abandoned-carts?key=" + encodeURIComponent(key || "");
  var NAME = "cartback_sid";
  var DELAY = 500;

  function randomId() {
    var bytes = new Uint8Array(16), hex = "", i;
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(bytes);
    else for (i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    for (i = 0; i < 16; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return hex;
  }

  function readCookie() {
    var m = String(d.cookie || "").match(/(?:^|;\s*)cartback_sid=([0-9a-f]{32})/);
    return m && m[1];
  }

  function loadSession() {
    var id;
    try {
      id = w.localStorage.getItem(NAME);
      if (!/^[0-9a-f]{32}$/.test(id || "")) {
        id = readCookie() || randomId();
        w.localStorage.setItem(NAME, id);
      }
      return id;
    } catch (e) {
      // No localStorage (disabled, private mode): a first-party cookie instead.
      id = readCookie() || randomId();
      try {
        d.cookie = NAME + "=" + id + "; path=/; max-age=31536000; SameSite=Lax";
      } catch (e2) { /* the id lasts for this page only */ }
      return id;
    }
  }

  var session = loadSession();
  var snapshot = null, email = null, name = null;
  var timer = null, lastSent = null;

  function payload() {
    var body = { sessionId: session, snapshot: snapshot };
    if (email) body.email = email;
    if (name) body.name = name;
    if (locale) body.locale = locale;
    return JSON.stringify(body);
  }

  // Sends what is pending now. On page exit a beacon, which outlives the page.
  function flush(leaving) {
    if (timer !== null) { w.clearTimeout(timer); timer = null; }
    if (!key || !snapshot) return;
    var body = payload();
    if (body === lastSent) return;
    lastSent = body;
    var nav = w.navigator;
    if (leaving && nav && nav.sendBeacon && nav.sendBeacon(url, body)) return;
    if (!w.fetch) return;
    // text/plain and the key in the URL keep this a simple request: no preflight.
    w.fetch(url, {
      method: "POST",
      body: body,
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      keepalive: true,
      credentials: "omit",
      mode: "cors"
    }).catch(function () { lastSent = null; });
  }

  function schedule() {
    if (timer !== null) w.clearTimeout(timer);
    timer = w.setTimeout(function () { timer = null; flush(false); }, DELAY);
  }

  function exit() { if (timer !== null) flush(true); }
  w.addEventListener("pagehide", exit);
  if (d.addEventListener) {
    d.addEventListener("visibilitychange", function () {
      if (d.visibilityState === "hidden") exit();
    });
  }

  // Calls made before the script loaded, queued by the page's stub.
  var queued = (w.cartback && w.cartback.q) || [];
  var api = w.cartback = {
    // cart: {items: [{itemId, variantId, name, quantity, unitPriceInCents,
    // imageUrl, url}], subtotalInCents, totalInCents, currency}
    updateCart: function (cart) { snapshot = cart || { items: [] }; schedule(); },
    setEmail: function (value) { email = value ? String(value) : null; if (snapshot) schedule(); },
    setName: function (value) { name = value ? String(value) : null; if (snapshot) schedule(); },
    sessionId: function () { return session; },
    flush: function () { flush(false); }
  };
  for (var i = 0; i < queued.length; i++) {
    if (api[queued[i][0]]) api[queued[i][0]].apply(api, queued[i][1]);
  }
})(window, document);
