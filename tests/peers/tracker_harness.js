// Runs cartback's tracker.js (path in argv[2]) in a bare VM context with the
// browser pieces it uses stubbed: window, document.currentScript, localStorage,
// cookies, fetch, navigator.sendBeacon and pagehide. Prints one line per check;
// exits non-zero on the first failure. Called by tests/tests/public_capture.rs.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");
const nodeCrypto = require("node:crypto");

const source = fs.readFileSync(process.argv[2], "utf8");
const SRC = "https://cartback.example/tracker.js";
const ENDPOINT = "https://cartback.example/api/v1/public/abandoned-carts?key=pk_test_123";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function memoryStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
  };
}

// A fresh page: the script loaded once, with its own stubs. `storage` may be
// shared between pages (same site), or "broken" to make localStorage throw.
function page({ storage, cookieJar = { value: "" }, beacon = true, queued } = {}) {
  const fetches = [];
  const beacons = [];
  const listeners = {};
  const sandbox = {
    setTimeout,
    clearTimeout,
    fetch: (url, options) => {
      fetches.push({ url, options, body: JSON.parse(options.body) });
      return Promise.resolve({ ok: true, status: 200 });
    },
    crypto: { getRandomValues: (bytes) => { bytes.set(nodeCrypto.randomBytes(bytes.length)); return bytes; } },
    navigator: beacon
      ? { sendBeacon: (url, body) => { beacons.push({ url, body: JSON.parse(body) }); return true; } }
      : {},
    addEventListener: (name, fn) => { (listeners[name] = listeners[name] || []).push(fn); },
    document: {
      currentScript: {
        src: SRC,
        getAttribute: (name) => (name === "data-key" ? "pk_test_123" : null),
      },
      get cookie() { return cookieJar.value; },
      set cookie(text) { cookieJar.value = text.split(";")[0]; },
      addEventListener: () => {},
    },
  };
  if (storage === "broken") {
    Object.defineProperty(sandbox, "localStorage", {
      get() { throw new Error("SecurityError: storage is disabled"); },
    });
  } else {
    sandbox.localStorage = storage || memoryStorage();
  }
  sandbox.window = sandbox;
  if (queued) sandbox.cartback = { q: queued };
  vm.createContext(sandbox);
  vm.runInContext(source, sandbox, { filename: "tracker.js" });
  const fire = (name) => (listeners[name] || []).forEach((fn) => fn({ type: name }));
  return { cartback: sandbox.cartback, fetches, beacons, fire, cookieJar };
}

const cart = (quantity) => ({
  items: [{ itemId: "pack", name: "Trail Pack 38L", quantity, unitPriceInCents: 18900 }],
  totalInCents: 18900 * quantity,
  currency: "USD",
});

async function main() {
  // Debounce: three quick updates are one request, after 500 ms, with the last cart.
  {
    const p = page();
    p.cartback.updateCart(cart(1));
    p.cartback.updateCart(cart(2));
    p.cartback.updateCart(cart(3));
    await sleep(300);
    assert.equal(p.fetches.length, 0, "nothing is sent before the debounce delay");
    await sleep(700);
    assert.equal(p.fetches.length, 1, "one request for three quick updates");
    const [request] = p.fetches;
    assert.equal(request.url, ENDPOINT);
    assert.equal(request.options.method, "POST");
    assert.equal(request.options.keepalive, true);
    assert.match(request.options.headers["Content-Type"], /^text\/plain/);
    assert.deepEqual(Object.keys(request.body).sort(), ["sessionId", "snapshot"]);
    assert.match(request.body.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(request.body.sessionId, p.cartback.sessionId());
    assert.deepEqual(request.body.snapshot, cart(3));
    console.log("ok debounce: 3 updates -> 1 request with the last cart");
    // The caller posts this to the real endpoint to check the shape end to end.
    console.log("body " + JSON.stringify(request.body));

    // The email and name ride along on the next request.
    p.cartback.setEmail("dana@example.com");
    p.cartback.setName("Dana");
    await sleep(800);
    assert.equal(p.fetches.length, 2);
    assert.equal(p.fetches[1].body.email, "dana@example.com");
    assert.equal(p.fetches[1].body.name, "Dana");
    assert.deepEqual(p.fetches[1].body.snapshot, cart(3));
    console.log("ok setEmail/setName send the cart again with them");
  }

  // The session id survives a reload through localStorage.
  {
    const storage = memoryStorage();
    const first = page({ storage }).cartback.sessionId();
    const second = page({ storage }).cartback.sessionId();
    assert.match(first, /^[0-9a-f]{32}$/);
    assert.equal(second, first);
    assert.notEqual(page().cartback.sessionId(), first, "another browser, another id");
    console.log("ok session id is stable across page loads");
  }

  // Without localStorage, a cookie keeps it.
  {
    const cookieJar = { value: "" };
    const first = page({ storage: "broken", cookieJar }).cartback.sessionId();
    assert.equal(cookieJar.value, "cartback_sid=" + first);
    const second = page({ storage: "broken", cookieJar }).cartback.sessionId();
    assert.equal(second, first);
    console.log("ok cookie fallback keeps the session id");
  }

  // Leaving the page flushes a pending update with sendBeacon, once.
  {
    const p = page();
    p.cartback.updateCart(cart(4));
    p.fire("pagehide");
    assert.equal(p.beacons.length, 1, "the pending update goes out as a beacon");
    assert.equal(p.beacons[0].url, ENDPOINT);
    assert.deepEqual(p.beacons[0].body.snapshot, cart(4));
    await sleep(800);
    assert.equal(p.fetches.length, 0, "and is not sent again by the timer");
    p.fire("pagehide");
    assert.equal(p.beacons.length, 1, "nothing pending, nothing sent");
    console.log("ok pagehide flushes the pending update with sendBeacon");
  }

  // Calls queued by the page's stub before the script loaded are replayed.
  {
    const p = page({ queued: [["setEmail", ["early@example.com"]], ["updateCart", [cart(7)]]] });
    assert.equal(typeof p.cartback.sessionId, "function");
    await sleep(800);
    assert.equal(p.fetches.length, 1);
    assert.deepEqual(p.fetches[0].body.snapshot, cart(7));
    assert.equal(p.fetches[0].body.email, "early@example.com");
    console.log("ok calls queued before loading are replayed");
  }

  // No sendBeacon: the flush falls back to a keepalive fetch.
  {
    const p = page({ beacon: false });
    p.cartback.updateCart(cart(5));
    p.fire("pagehide");
    assert.equal(p.fetches.length, 1);
    assert.equal(p.fetches[0].options.keepalive, true);
    console.log("ok pagehide without sendBeacon uses a keepalive fetch");
  }
}

main().then(
  () => console.log("all tracker checks passed"),
  (error) => {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(1);
  },
);
