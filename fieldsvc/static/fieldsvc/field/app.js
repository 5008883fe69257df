// The crews' tablet app (/field/): starts from what the tablet keeps (IndexedDB), registers the service worker
// that keeps the app and the map area offline, and draws one of three screens from the address's #fragment:
// my work (#/), one work order (#/wo/42), pending updates (#/outbox); the map sits beside them on a wide
// screen and is its own screen (#/map) on a narrow one. Every action is applied here at once and queued in the
// outbox (outbox.js); sync.js sends it when there is a network. The indicator in the header always says where
// the edits are. Tests read window.fieldsvcField.
import { changed, data, load, onChange, queueCounts, reloadQueues, titleOf, workOrder, workOrders } from "./data.js";
import { detailScreen } from "./detail.js";
import { listScreen, nextStop, outboxScreen } from "./lists.js";
import { areaTiles, MapView } from "./mapview.js";
import * as outbox from "./outbox.js";
import * as photos from "./photos.js";
import * as sync from "./sync.js";
import { clock, el } from "./ui.js";

const options = JSON.parse(document.getElementById("field-options").textContent);
const main = document.getElementById("main");
const indicator = document.getElementById("sync");
const attention = document.getElementById("attention");
const toast = document.getElementById("toast");
const mapStatus = document.getElementById("map-status");
const POSITION_FRESH_MS = 5 * 60 * 1000; // an older fix is not where the edit was made
const TILES_REFRESH_MS = 12 * 3600 * 1000;

const app = { route: { name: "list" }, panel: null, drafts: {}, position: null, loaded: false, confirming: null };
const hooks = { ready: false, data, status: sync.status, renders: 0, errors: [] };
window.fieldsvcField = hooks;
let map = null;
let keptArea = null; // the map area this page has asked the worker to keep

// --- Screens ------------------------------------------------------------------------------------------------

function parseRoute(hash) {
  const wo = /^#\/wo\/(\d+)/.exec(hash);
  if (wo) return { name: "detail", id: Number(wo[1]) };
  if (hash.startsWith("#/outbox")) return { name: "outbox" };
  if (hash.startsWith("#/map")) return { name: "map" };
  return { name: "list" };
}

function context() {
  return { ...app, data, manifest: data.manifest, titleOf, actions, loaded: app.loaded };
}

let lastSignature = "";
let drawScheduled = false;

function scheduleDraw() {
  if (drawScheduled) return;
  drawScheduled = true;
  queueMicrotask(() => {
    drawScheduled = false;
    draw();
  });
}

// Redraw the screen only when what it shows changed (a redraw under a finger would swallow the tap), keeping
// what was being typed and where the cursor was.
function draw() {
  drawIndicator();
  const views = workOrders();
  const current = app.route.name === "detail" ? workOrder(app.route.id) : null;
  const signature = JSON.stringify([app.route, app.panel, app.confirming, app.loaded, current || views,
    app.route.name === "outbox" ? [data.outbox, data.photos.map((p) => [p.photo_id, p.state, p.error])] : null,
    app.route.name === "list" && app.position ? [app.position.lon.toFixed(4), app.position.lat.toFixed(4)] : null]);
  if (signature !== lastSignature) {
    lastSignature = signature;
    const focused = document.activeElement?.dataset?.draft;
    const ctx = context();
    const screen = app.route.name === "detail" ? detailScreen(ctx, current)
      : app.route.name === "outbox" ? outboxScreen(ctx) : listScreen(ctx, views);
    main.replaceChildren(screen);
    if (focused) main.querySelector(`[data-draft="${CSS.escape(focused)}"]`)?.focus();
    hooks.renders += 1;
  }
  document.body.dataset.route = app.route.name;
  map?.update(views, data.plans, app.position, nextStop(views)?.id);
}

function drawIndicator() {
  const { waiting, attention: refused } = queueCounts();
  const s = sync.status;
  const changes = (n) => `${n} change${n === 1 ? "" : "s"}`;
  let text, state;
  if (s.signedOut) [text, state] = [`Signed out — sign in to send ${changes(waiting)}`, "signed-out"];
  else if (!navigator.onLine) [text, state] = [`Offline — ${changes(waiting)} waiting`, "offline"];
  else if (s.syncing) [text, state] = ["Syncing…", "syncing"];
  else if (waiting) {
    const retry = s.retryAt ? ` — trying again in ${Math.max(1, Math.round((s.retryAt - Date.now()) / 1000))} s` : "";
    [text, state] = [`${changes(waiting)} waiting${retry}`, "waiting"];
  } else if (data.lastSync) [text, state] = [`All changes saved · ${clock(data.lastSync)}`, "saved"];
  else [text, state] = ["Not synced yet", "waiting"];
  indicator.textContent = text;
  indicator.dataset.state = state;
  attention.hidden = !refused;
  attention.textContent = `${refused} need${refused === 1 ? "s" : ""} attention`;
  document.getElementById("sign-in-again").hidden = !s.signedOut;
}

let toastTimer = null;
function say(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 4000);
}

// --- Actions: applied here at once, queued for the server --------------------------------------------------

function freshPosition() {
  return app.position && Date.now() - app.position.at < POSITION_FRESH_MS ? app.position : null;
}

async function queue(wo, type, payload) {
  const doc = data.docs.get(wo.id);
  const mutation = outbox.newMutation(type, wo.id, payload, { position: freshPosition(),
    baseVersion: type === "edit" ? doc.version : undefined });
  await outbox.add(mutation, wo.title); // in IndexedDB before the screen says it is done
  await reloadQueues();
  changed();
  say(navigator.onLine ? "Saved — sending…" : "Saved on this tablet — it will be sent when online");
  sync.kick();
  return mutation;
}

const actions = {
  say,
  openPanel(step) {
    app.panel = step;
    scheduleDraw();
  },
  transition(wo, to, { note, resolution, hold_reason: holdReason }) {
    app.panel = null;
    const payload = { to };
    if (note) payload.note = note;
    if (resolution) payload.resolution = resolution;
    if (holdReason) payload.hold_reason = holdReason;
    return queue(wo, "transition", payload);
  },
  edit: (wo, payload) => queue(wo, "edit", payload),
  note: (wo, text) => queue(wo, "note", { text }),
  material: (wo, { item, quantity, unit, task }) => queue(wo, "material", { item, quantity, unit,
    ...(task ? { task } : {}) }),
  async photo(wo, file) {
    const maxBytes = data.manifest?.limits?.media_max_bytes || data.manifest?.limits?.photo_max_bytes;
    await photos.take(file, { workOrder: wo.id, label: wo.title, position: freshPosition(), maxBytes });
    await reloadQueues();
    changed();
    say(navigator.onLine ? "Photo saved — uploading…" : "Photo saved on this tablet — it will be sent when online");
    sync.kick();
  },
  async retry(item) {
    await outbox.retry(item);
    await reloadQueues();
    changed();
    sync.kick();
  },
  async discard(item) {
    if (app.confirming !== item.seq) return confirmFirst(item.seq);
    await outbox.drop(item);
    await reloadQueues();
    changed();
    return say("Discarded.");
  },
  async retryPhoto(photo) {
    await photos.retry(photo);
    await reloadQueues();
    changed();
    sync.kick();
  },
  async discardPhoto(photo) {
    if (app.confirming !== photo.photo_id) return confirmFirst(photo.photo_id);
    await photos.forget(photo);
    await reloadQueues();
    changed();
    return say("Photo discarded.");
  },
  showOnMap(wo) {
    if (window.matchMedia("(max-width: 899px)").matches) location.hash = "#/map";
    map?.focus(wo.location);
  },
};

// Discarding loses work: the first tap asks, a second tap within 5 s does it.
function confirmFirst(key) {
  app.confirming = key;
  say("Tap “Discard” again to throw this change away.");
  scheduleDraw();
  setTimeout(() => {
    if (app.confirming === key) {
      app.confirming = null;
      scheduleDraw();
    }
  }, 5000);
}

// --- Service worker, map area, position ----------------------------------------------------------------------

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register(options.sw, { scope: options.scope });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type !== "tiles") return;
    const { done, failed, total } = event.data;
    hooks.tiles = event.data;
    mapStatus.textContent = done + failed < total ? `Keeping the map offline: ${done} of ${total} tiles…`
      : `${sync.status.tiles}${failed ? ` (${failed} failed, tried again later)` : ""}`;
  });
}

// After each download: the map area's tiles and the photos, kept by the service worker for offline use.
async function keepOffline() {
  const worker = (await navigator.serviceWorker?.ready)?.active;
  if (!worker || !map?.style || !navigator.onLine) return;
  const photoUrls = [...data.docs.values()].flatMap((d) => [...d.photos.map((p) => p.url),
    ...d.requests.flatMap((r) => r.photos)]);
  if (photoUrls.length) worker.postMessage({ type: "cache-urls", urls: photoUrls });
  const area = data.manifest?.map;
  if (!area || keptArea === JSON.stringify(area)) return;
  keptArea = JSON.stringify(area);
  // The worker skips tiles it has; twice a day it fetches them all again (assets change, slowly).
  const last = JSON.parse(localStorage.getItem("fieldsvc-tiles") || "{}");
  const refresh = last.key === keptArea && Date.now() - last.at > TILES_REFRESH_MS;
  const { urls, maxZoom, tooBig } = await areaTiles(map.style, area);
  sync.status.tiles = tooBig ? `Map area too big: kept offline up to zoom ${maxZoom ?? "—"} (${urls.length} tiles)`
    : `Map kept offline: ${urls.length} tiles, zoom ${area.min_zoom}–${maxZoom}`;
  hooks.tilesPlanned = { count: urls.length, maxZoom, tooBig };
  mapStatus.textContent = sync.status.tiles;
  worker.postMessage({ type: "cache-tiles", urls, refresh });
  if (refresh || last.key !== keptArea) localStorage.setItem("fieldsvc-tiles", JSON.stringify({ key: keptArea,
    at: Date.now() }));
}

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition((fix) => {
    app.position = { lon: fix.coords.longitude, lat: fix.coords.latitude, accuracy_m: Math.round(fix.coords.accuracy),
      at: fix.timestamp || Date.now() };
    scheduleDraw();
  }, () => {}, { enableHighAccuracy: true, maximumAge: 30000, timeout: 60000 });
}

async function startMap() {
  map = new MapView(document.getElementById("map"), { styleUrl: options.style,
    onStop: (id) => { location.hash = `#/wo/${id}`; } });
  hooks.map = map;
  try {
    await map.start();
    scheduleDraw();
    lastSignature = ""; // the markers need the views drawn once the map is there
    draw();
  } catch (error) {
    mapStatus.textContent = `The map is not available: ${error.message}`;
  }
}

// --- Start ------------------------------------------------------------------------------------------------

function signOut(event) {
  const { waiting, attention: refused } = queueCounts();
  if (waiting + refused && app.confirming !== "sign-out") {
    event.preventDefault();
    app.confirming = "sign-out";
    say(`${waiting + refused} changes are not on the server: they stay on this tablet for your next sign-in. `
      + "Tap “Sign out” again to sign out.");
    return;
  }
  const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.slice(10) || "";
  event.target.elements.csrfmiddlewaretoken.value = token;
  navigator.serviceWorker?.controller?.postMessage({ type: "forget-data" }); // the next user's are their own
}

async function start() {
  app.route = parseRoute(location.hash);
  document.getElementById("who").textContent = options.user.name;
  await load(options.user.id, options.user.name);
  onChange(scheduleDraw);
  window.addEventListener("hashchange", () => {
    app.route = parseRoute(location.hash);
    app.panel = null;
    scheduleDraw();
    window.scrollTo(0, 0);
    if (app.route.name === "map") setTimeout(() => map?.resize(), 0);
  });
  // Whatever is typed is kept by field, so a redraw (a sync, a position fix) never loses it.
  main.addEventListener("input", (event) => {
    const key = event.target.dataset?.draft;
    if (key && event.target.type !== "radio") app.drafts[key] = event.target.value;
  });
  document.getElementById("logout").addEventListener("submit", signOut);
  setInterval(drawIndicator, 1000); // the retry countdown and the "saved" time
  app.loaded = data.docs.size > 0;
  draw();
  registerWorker().catch((error) => hooks.errors.push(`service worker: ${error.message}`));
  watchPosition();
  const mapReady = startMap();
  await sync.start(options.api);
  app.loaded = true;
  scheduleDraw();
  hooks.ready = true;
  await mapReady;
  // After every sync that reached the server (a new manifest may bring a new map area, new photos).
  let keptAfter = null;
  const keep = () => {
    if (data.lastSync === keptAfter) return;
    keptAfter = data.lastSync;
    keepOffline().catch((error) => { mapStatus.textContent = `Map area not kept offline: ${error.message}`; });
  };
  onChange(keep);
  keep();
}

start().catch((error) => {
  hooks.errors.push(error.message);
  main.replaceChildren(el("p", { class: "error", role: "alert" }, `The app could not start: ${error.message}`));
});
