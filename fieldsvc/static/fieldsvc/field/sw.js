// The tablet app's service worker, served from /field/sw.js (scope /field/) by fieldsvc/field.py, which puts
// self.FIELD_CONFIG in front: {version, shell, precache}. It keeps the app (page, modules, styles, MapLibre,
// icons) so the app starts without a network, keeps the last answers of the crew API's reads and the map's
// style as a fallback, and keeps the map tiles of the crew's area (fetched ahead when the page asks).
// The app's own store is IndexedDB (store.js); what is cached here only has to get the app on its feet.
/* global self, caches, clients */
const CONFIG = self.FIELD_CONFIG;
const SHELL = `field-shell-${CONFIG.version}`; // a new app version gets a new cache; old ones go on activate
const DATA = "field-data-v1"; // API reads, the map style, photos: kept across app versions
const TILES = "field-tiles-v1";
const KEEP = new Set([SHELL, DATA, TILES]);
const NETWORK_WAIT_MS = 6000; // a poor signal that answers after this long is treated as none
const TILE_PARALLEL = 6;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    // cache: "reload" skips the HTTP cache, so the precache is this version's files, not yesterday's.
    await cache.addAll(CONFIG.precache.map((url) => new Request(url, { cache: "reload", credentials: "same-origin" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("field-") && !KEEP.has(name)) await caches.delete(name);
    }
    await self.clients.claim(); // the page that installed us is controlled without a reload
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return; // writes go straight through
  const path = url.pathname;
  if (request.mode === "navigate" && path.startsWith(CONFIG.shell)) {
    if (/\/(login|logout)\/$/.test(path)) return;
    event.respondWith(networkFirst(request, SHELL, CONFIG.shell));
  } else if (/^\/tiles\/.+\.mvt$/.test(path)) {
    event.respondWith(cacheFirst(request, TILES, () => new Response(null, { status: 204 })));
  } else if (path.startsWith("/tiles/") || path.startsWith("/media/")) {
    event.respondWith(networkFirst(request, DATA));
  } else if (path.startsWith("/api/field/") && !path.startsWith("/api/field/changes")
             && !path.startsWith("/api/field/uploads/")) {
    event.respondWith(networkFirst(request, DATA));
  } else if (path.startsWith("/static/") || path === `${CONFIG.shell}manifest.webmanifest`) {
    event.respondWith(cacheFirst(request, SHELL));
  }
});

function timeout(ms) {
  return new Promise((resolve, reject) => { setTimeout(() => reject(new Error("network too slow")), ms); });
}

// The network's answer (and a copy kept), else the kept copy marked with X-Field-Cache, else a 503 that says
// offline. ``fallback``: the URL whose copy stands in (the app shell for any /field/ address).
async function networkFirst(request, cacheName, fallback) {
  const cache = await caches.open(cacheName);
  try {
    const response = await Promise.race([fetch(request), timeout(NETWORK_WAIT_MS)]);
    if (response.ok && !response.redirected && response.type === "basic") {
      await cache.put(fallback || request, response.clone());
    }
    return response;
  } catch (error) {
    // ignoreVary: the API varies on Accept and Cookie, which differ between the app's reads and a reload's.
    const kept = await cache.match(fallback || request, { ignoreSearch: Boolean(fallback), ignoreVary: true })
      || (fallback ? await caches.match(fallback) : undefined);
    if (kept) return marked(kept);
    return new Response(JSON.stringify({ code: "offline", detail: String(error.message || error) }), {
      status: 503, headers: { "Content-Type": "application/json", "X-Field-Cache": "miss" } });
  }
}

async function marked(response) {
  const headers = new Headers(response.headers);
  headers.set("X-Field-Cache", "hit");
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText,
    headers });
}

async function cacheFirst(request, cacheName, whenMissing) {
  const cache = await caches.open(cacheName);
  const kept = await cache.match(request, { ignoreVary: true });
  if (kept) return kept;
  try {
    const response = await fetch(request);
    if ((response.ok || response.status === 204) && response.type === "basic") {
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    if (whenMissing) return whenMissing();
    throw error;
  }
}

// The page asks for its map area's tiles ({type: "cache-tiles", urls}) and for photos ({type: "cache-urls"});
// progress goes back to it as {type: "tiles", done, failed, total}; "forget-data" on signing out.
self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "cache-tiles") {
    event.waitUntil(fetchAll(message.urls, TILES, event.source, "tiles", message.refresh));
  }
  if (message.type === "cache-urls") event.waitUntil(fetchAll(message.urls, DATA, null, "urls", false));
  if (message.type === "forget-data") {
    event.waitUntil(Promise.all([caches.delete(DATA), caches.delete(TILES)]));
  }
});

// ``refresh``: fetch again what is kept (the page asks twice a day: assets change, slowly).
async function fetchAll(urls, cacheName, client, kind, refresh) {
  const cache = await caches.open(cacheName);
  let done = 0, failed = 0, next = 0;
  const tell = () => client?.postMessage({ type: kind, done, failed, total: urls.length });
  async function worker() {
    while (next < urls.length) {
      const url = urls[next];
      next += 1;
      try {
        if (refresh || !(await cache.match(url))) {
          const response = await fetch(url, { credentials: "same-origin" });
          if (!response.ok && response.status !== 204) throw new Error(`HTTP ${response.status}`);
          await cache.put(url, response);
        }
        done += 1;
      } catch {
        failed += 1;
      }
      if ((done + failed) % 20 === 0) tell();
    }
  }
  await Promise.all(Array.from({ length: TILE_PARALLEL }, worker));
  tell();
}
