// Sync with the server (docs/field-api.md): send the outbox (POST /api/field/sync, in order, at most the
// server's batch size at a time), upload waiting photos (tus), then fetch what changed (the change feed).
// It runs when the app starts, when the network comes back, every 15 s while online, and right after an
// edit; a failed round is tried again later with a growing delay. ``status`` is what the indicator shows.
import { changed, data, queueCounts, reloadQueues, setMeta } from "./data.js";
import * as outbox from "./outbox.js";
import * as photos from "./photos.js";
import * as store from "./store.js";

const POLL_MS = 15000;
const BACKOFF_MS = [2000, 5000, 10000, 30000, 60000];

export const status = { syncing: false, failures: 0, retryAt: null, error: "", signedOut: false, tiles: "" };
let api = "/api/field/";
let running = null;
let again = false;
let timer = null;
let fresh = false; // this page has downloaded the work orders once

class Offline extends Error {}

function csrfToken() {
  return document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.slice("csrftoken=".length) || "";
}

// fetch, with the network's failure told apart from the server's answer.
async function call(path, { method = "GET", body } = {}) {
  let response;
  try {
    response = await fetch(api + path, { method, credentials: "same-origin", cache: "no-store",
      headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json",
        Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new Offline(error.message);
  }
  // The service worker answers from its cache when the network is down: the data here is newer than that.
  if (response.headers.get("X-Field-Cache")) throw new Offline("no network (the service worker answered)");
  if ([401, 403].includes(response.status) || response.redirected) {
    status.signedOut = true;
    throw new Error("signed out");
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status >= 500) throw new Offline(`server error ${response.status}`);
  return { status: response.status, data: answer };
}

export function start(apiRoot) {
  api = apiRoot;
  window.addEventListener("online", () => { status.failures = 0; kick(); });
  window.addEventListener("offline", () => changed());
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && kick());
  setInterval(() => navigator.onLine && !status.retryAt && kick(), POLL_MS);
  return kick();
}

// One round now (or right after the one running).
export function kick() {
  if (running) {
    again = true;
    return running;
  }
  clearTimeout(timer);
  status.retryAt = null;
  running = round().finally(() => {
    running = null;
    if (again) {
      again = false;
      kick();
    }
  });
  return running;
}

async function round() {
  if (!navigator.onLine) {
    changed();
    return;
  }
  // "Syncing…" while there is something to send or nothing downloaded yet; the quiet polls do not blink it.
  const counts = queueCounts();
  status.syncing = counts.waiting > 0 || !fresh;
  changed();
  try {
    if (!fresh) await refreshManifest();
    await sendOutbox();
    await uploadPhotos();
    // The first round of a page downloads everything (as the issue asks: a fresh start after a day away),
    // later ones follow the feed.
    if (!fresh || data.cursor === null) await snapshot();
    else await pull();
    fresh = true;
    status.failures = 0;
    status.error = "";
    status.signedOut = false;
    await setMeta("lastSync", new Date().toISOString());
  } catch (error) {
    status.error = error.message;
    if (!status.signedOut) {
      const delay = BACKOFF_MS[Math.min(status.failures, BACKOFF_MS.length - 1)];
      status.failures += 1;
      status.retryAt = Date.now() + delay;
      timer = setTimeout(kick, delay * (0.8 + Math.random() * 0.4)); // jitter: tablets back at once spread out
    }
  } finally {
    status.syncing = false;
    await reloadQueues();
    changed();
  }
}

export async function refreshManifest() {
  const { status: code, data: manifest } = await call("manifest");
  if (code !== 200) throw new Error(`manifest: HTTP ${code}`);
  await setMeta("manifest", manifest);
}

// Everything in scope now; work orders the tablet had and the server no longer lists leave it.
export async function snapshot() {
  const { status: code, data: answer } = await call("work-orders");
  if (code !== 200) throw new Error(`work orders: HTTP ${code}`);
  const ids = new Set(answer.work_orders.map((d) => d.id));
  await orphan([...data.docs.keys()].filter((id) => !ids.has(id)));
  await store.replaceDocs(answer.work_orders, answer.cursor);
  data.docs = new Map(answer.work_orders.map((d) => [d.id, d]));
  data.cursor = answer.cursor;
  await refreshPlans();
  afterDocs();
}

async function refreshPlans() {
  const { status: code, data: answer } = await call("plan");
  if (code === 200) await setMeta("plans", answer.plans || []);
}

export async function pull() {
  for (let page = 0; page < 50; page += 1) {
    const { status: code, data: answer } = await call(`changes?since=${encodeURIComponent(data.cursor)}&limit=200`);
    if (code === 410) {
      await snapshot(); // the server no longer keeps our place in the feed
      return;
    }
    if (code !== 200) throw new Error(`changes: HTTP ${code}`);
    const upserts = [], deletes = [];
    for (const change of answer.changes) {
      if (change.type === "work_order" && change.op === "upsert") upserts.push(change.data);
      else if (change.type === "work_order" && change.op === "delete") deletes.push(change.id);
      else if (change.type === "plan") {
        const others = data.plans.filter((p) => p.crew?.id !== change.id);
        await setMeta("plans", change.op === "delete" ? others : [...others, change.data]);
      }
    }
    await orphan(deletes);
    await store.applyChanges(upserts, deletes, answer.next_cursor);
    for (const doc of upserts) data.docs.set(doc.id, doc);
    for (const id of deletes) data.docs.delete(id);
    data.cursor = answer.next_cursor;
    if (!answer.has_more) break;
  }
  afterDocs();
}

// Work orders taken off the tablet (reassigned, deleted): what was still to send for them needs a person.
async function orphan(ids) {
  const gone = new Set(ids);
  for (const item of data.outbox.filter((i) => gone.has(i.mutation.work_order) && i.state === outbox.WAITING)) {
    await outbox.reject(item, "out_of_scope", "This work order is no longer assigned to your crew.");
  }
  for (const photo of data.photos.filter((p) => gone.has(p.work_order) && p.state === photos.WAITING)) {
    Object.assign(photo, { state: photos.REJECTED, error: "This work order is no longer assigned to your crew." });
    await store.put("photos", photo);
  }
  await reloadQueues();
}

// Once the server's documents show them, accepted edits, conflict notices and uploaded photos are let go.
function afterDocs() {
  const version = (id) => data.docs.get(id)?.version ?? Infinity;
  const has = (item) => {
    const doc = data.docs.get(item.mutation.work_order);
    return !doc || [...doc.notes, ...doc.materials].some((r) => r.id === (item.record || item.mutation.id));
  };
  data.settled = data.settled.filter((i) => version(i.mutation.work_order) < i.settledVersion && !has(i));
  const notices = data.notices.filter((n) => version(n.work_order) < n.version);
  if (notices.length !== data.notices.length) setMeta("notices", notices);
  for (const photo of data.photos.filter((p) => p.state === photos.UPLOADED)) {
    const doc = data.docs.get(photo.work_order);
    if (!doc || doc.photos.some((s) => [photo.photo_id, photo.server_id].includes(s.id))) photos.forget(photo);
  }
}

async function sendOutbox() {
  const max = data.manifest?.limits?.batch_max || data.manifest?.limits?.sync_batch_max || 200;
  for (;;) {
    const batch = (await outbox.list()).filter((i) => i.state === outbox.WAITING).slice(0, max);
    if (!batch.length) return;
    for (const item of batch) await outbox.save(Object.assign(item, { sending: true }));
    let answer;
    try {
      answer = await call("sync", { method: "POST", body: { device_id: data.deviceId,
        mutations: batch.map((i) => i.mutation) } });
    } catch (error) {
      // Not answered (no network, a server error): all of it waits for the next round, ids unchanged.
      for (const item of batch) await outbox.save(Object.assign(item, { sending: false }));
      throw error;
    }
    for (const item of batch) item.sending = false;
    if (answer.status !== 200) {
      // The whole batch refused (a bug or a rule): kept, shown, never lost.
      const detail = answer.data.detail || answer.data.code || `HTTP ${answer.status}`;
      for (const item of batch) await outbox.reject(item, answer.data.code || "refused", detail);
      return;
    }
    const results = new Map(answer.data.results.map((r) => [r.id, r]));
    for (const item of batch) await settle(item, results.get(item.mutation.id));
    await reloadQueues();
  }
}

async function settle(item, result) {
  const m = item.mutation;
  if (!result) {
    await outbox.save(item); // not answered for: sent again next round (its id makes that safe)
    return;
  }
  if (result.status === "retry") {
    await outbox.save(item); // the same change is being done right now (a parallel send): ask again later
    return;
  }
  if (["applied", "merged", "noop", "conflict"].includes(result.status)) {
    await outbox.drop(item);
    // Shown as sent until the server's copy has it: a version for steps and edits, the record for notes
    // and materials (which leave the version alone).
    const version = result.version ?? Infinity;
    data.settled.push({ ...item, state: "settled", settledVersion: version, record: result.record });
    if (Number.isFinite(version)) await rebaseLaterEdits(item, version);
    if (result.status === "conflict") {
      await setMeta("notices", [...data.notices, { work_order: m.work_order, version: result.version ?? Infinity,
        conflicts: (result.conflicts || []).map((c) => ({ ...c, occurred_at: m.occurred_at })) }]);
    }
    return;
  }
  await outbox.reject(item, result.code || result.status, result.detail || "");
}

// An edit waiting behind one just accepted, of no other field, was made on the accepted one's result: its base
// is that version (else the server would see our own earlier edit as someone else's and report a clash).
async function rebaseLaterEdits(item, version) {
  if (item.mutation.type !== "edit") return;
  const fields = outbox.editedFields(item.mutation.data);
  for (const later of await outbox.list()) {
    const m = later.mutation;
    if (later.state !== outbox.WAITING || m.type !== "edit" || m.work_order !== item.mutation.work_order) continue;
    if (outbox.editedFields(m.data).every((f) => fields.includes(f)) && (m.base_version ?? 0) < version) {
      m.base_version = version;
      await outbox.save(later);
    }
  }
}

async function uploadPhotos() {
  for (const photo of data.photos.filter((p) => p.state === photos.WAITING)) {
    if (!navigator.onLine) throw new Offline("offline");
    const done = await photos.upload(photo, `${api}uploads/`);
    if (!done && photo.state === photos.WAITING) throw new Offline("photo upload interrupted");
  }
}
