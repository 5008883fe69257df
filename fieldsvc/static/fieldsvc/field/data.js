// The app's data in memory, loaded from IndexedDB and written back there first: the server's documents, the
// outbox, photos, the plans and the manifest, and the conflicts the last sync reported. Screens read
// ``workOrders()``; whatever changes the data calls ``changed()`` and the screens redraw.
import * as outbox from "./outbox.js";
import * as photos from "./photos.js";
import * as store from "./store.js";

export const data = {
  me: "", docs: new Map(), outbox: [], photos: [], plans: [], manifest: null, cursor: null, lastSync: null,
  deviceId: "", notices: [], // [{work_order, version, conflicts}]: clashes reported before the document shows them
  settled: [], // accepted edits whose result the server's document does not show yet (no flicker back)
};

const listeners = new Set();
export const onChange = (listener) => listeners.add(listener);
export function changed() {
  for (const listener of listeners) listener();
}

export async function load(userId, me) {
  await store.open(userId);
  data.me = me;
  const [docs, items, pictures, manifest, cursor, plans, lastSync, notices] = await Promise.all([
    store.all("docs"), outbox.list(), photos.list(), store.get("meta", "manifest"), store.get("meta", "cursor"),
    store.get("meta", "plans"), store.get("meta", "lastSync"), store.get("meta", "notices")]);
  data.docs = new Map(docs.map((d) => [d.id, d]));
  // An item marked as being sent when the page went away was not answered for: it waits again.
  for (const item of items.filter((i) => i.sending)) {
    item.sending = false;
    await outbox.save(item);
  }
  Object.assign(data, { outbox: items, photos: pictures, manifest: manifest || null, cursor: cursor ?? null,
    plans: plans || [], lastSync: lastSync || null, notices: notices || [] });
  data.deviceId = (await store.get("meta", "deviceId")) || `tablet-${crypto.randomUUID().slice(0, 8)}`;
  await store.put("meta", data.deviceId, "deviceId");
}

export async function reloadQueues() {
  [data.outbox, data.photos] = await Promise.all([outbox.list(), photos.list()]);
}

export async function setMeta(key, value) {
  data[key] = value;
  await store.put("meta", value, key);
}

// --- What the screens show -----------------------------------------------------------------------------------

const CREW_STEPS = ["en_route", "in_progress", "on_hold", "completed"];
// The state machine's moves a crew may make (workorders/states.py ALLOWED ∩ permissions.FIELD_STEPS), for
// when the manifest brings no transition table.
const CREW_MOVES = { dispatched: ["en_route", "in_progress", "on_hold"], en_route: ["in_progress", "on_hold"],
  in_progress: ["on_hold", "completed"], on_hold: ["in_progress"] };

// Where a work order may go next: the server's word for its own copy; after a step taken here, the manifest's
// transition table (or ours), limited to the crew's steps.
function nextSteps(view) {
  if (view.next) return view.next;
  const table = data.manifest?.options?.transitions || data.manifest?.transitions || CREW_MOVES;
  let allowed = table[view.status];
  if (allowed === undefined && Array.isArray(table)) {
    allowed = table.filter((t) => t.from === view.status).map((t) => t.to);
  }
  return (allowed || []).filter((to) => CREW_STEPS.includes(to));
}

export function workOrder(id) {
  const doc = data.docs.get(id);
  if (!doc) return null;
  const view = outbox.withPending(doc, [...data.settled, ...data.outbox], data.me);
  view.next = nextSteps(view);
  view.localPhotos = data.photos.filter((p) => p.work_order === id && !view.photos.some((s) => [p.photo_id,
    p.server_id].includes(s.id)));
  const notice = data.notices.filter((n) => n.work_order === id && doc.version < n.version);
  const known = new Set(view.conflicts.map((c) => c.id));
  view.conflicts = [...view.conflicts, ...notice.flatMap((n) => n.conflicts).filter((c) => !known.has(c.id))];
  view.attention = data.outbox.filter((i) => i.mutation.work_order === id && i.state === outbox.REJECTED).length
    + view.localPhotos.filter((p) => p.state === photos.REJECTED).length;
  view.pending += view.localPhotos.filter((p) => p.state === photos.WAITING).length;
  return view;
}

function byKey(key) {
  return (a, b) => {
    const [ka, kb] = [key(a), key(b)];
    for (let n = 0; n < ka.length; n += 1) if (ka[n] !== kb[n]) return ka[n] < kb[n] ? -1 : 1;
    return 0;
  };
}

// Today's stop order: the plan's sequence, then priority, then the due time; finished work last. Each keeps
// its stop number (the plan's, else its place in the day) while work before it is done.
export function workOrders() {
  const views = [...data.docs.keys()].map(workOrder);
  const day = (v) => [v.plan?.sequence ?? 1e9, v.priority ?? 9, v.due_at ? Date.parse(v.due_at) : Infinity, v.id];
  views.sort(byKey(day)).forEach((v, n) => { v.stop = v.plan?.sequence ?? n + 1; });
  return views.sort(byKey((v) => [outbox.DONE.has(v.status) ? 1 : 0, ...day(v)]));
}

// Items sent or kept: the outbox and the photos not yet on the server.
export function queueCounts() {
  const waiting = data.outbox.filter((i) => i.state === outbox.WAITING).length
    + data.photos.filter((p) => p.state === photos.WAITING).length;
  const attention = data.outbox.filter((i) => i.state === outbox.REJECTED).length
    + data.photos.filter((p) => p.state === photos.REJECTED).length;
  return { waiting, attention };
}

// A work order's title, also once it has left the tablet (``label``: the title kept with a queued item).
export function titleOf(id, label) {
  return data.docs.get(id)?.title || label || `Work order ${id}`;
}
