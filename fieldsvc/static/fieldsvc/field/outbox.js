// The outbox: every edit made on the tablet, as a mutation in the crew API's batch format
// (docs/field-api.md, POST /api/field/sync), kept in IndexedDB until the server has answered for it.
// What the crew sees is the server's document with the outbox applied on top (``withPending``), so an edit
// shows at once, survives a reload, and disappears into the server's copy once that copy includes it.
// Items the server refused stay, with the reason, until the crew sends them again or discards them
// (Cityworks' Pending Updates); nothing is dropped silently.
import * as store from "./store.js";

export const WAITING = "waiting";
export const REJECTED = "rejected"; // refused by the server, or its work order left the tablet

// Statuses a crew's step may lead to, and the ones that end the crew's work.
export const DONE = new Set(["completed", "closed", "cancelled"]);

export function newMutation(type, workOrder, data, { position, baseVersion } = {}) {
  const mutation = { id: crypto.randomUUID(), type, occurred_at: new Date().toISOString() };
  if (workOrder !== undefined) mutation.work_order = workOrder;
  if (baseVersion !== undefined) mutation.base_version = baseVersion;
  if (position) mutation.position = { lon: position.lon, lat: position.lat, accuracy_m: position.accuracy_m };
  mutation.data = data;
  return mutation;
}

export async function list() {
  return (await store.all("outbox")).sort((a, b) => a.seq - b.seq);
}

// Queue ``mutation``. Two edits of the same field of one work order while neither was sent become one (the
// later value, the earlier base version): sent apart, the second would clash with the first on the server.
export async function add(mutation, label) {
  if (mutation.type === "edit") {
    const waiting = (await list()).filter((i) => i.state === WAITING && !i.sending && i.mutation.type === "edit"
      && i.mutation.work_order === mutation.work_order);
    const fields = editedFields(mutation.data);
    const same = waiting.reverse().find((i) => fields.every((f) => editedFields(i.mutation.data).includes(f)));
    if (same) {
      same.mutation.data = mergeEdit(same.mutation.data, mutation.data);
      same.mutation.occurred_at = mutation.occurred_at;
      await store.put("outbox", same);
      return same;
    }
  }
  const item = { mutation, state: WAITING, label, created_at: mutation.occurred_at };
  item.seq = await store.put("outbox", item);
  return item;
}

export function editedFields(data) {
  const fields = Object.keys(data).filter((k) => k !== "tasks");
  for (const [task, change] of Object.entries(data.tasks || {})) {
    for (const name of Object.keys(change)) fields.push(`tasks.${task}.${name}`);
  }
  return fields;
}

function mergeEdit(earlier, later) {
  const merged = { ...earlier, ...later, tasks: { ...(earlier.tasks || {}) } };
  for (const [task, change] of Object.entries(later.tasks || {})) {
    merged.tasks[task] = { ...(merged.tasks[task] || {}), ...change };
  }
  if (!Object.keys(merged.tasks).length) delete merged.tasks;
  return merged;
}

export const save = (item) => store.put("outbox", item);
export const drop = (item) => store.remove("outbox", item.seq);

export async function reject(item, code, detail) {
  Object.assign(item, { state: REJECTED, result: { code, detail }, sending: false });
  await save(item);
}

// Sent again as a new change: the server remembers its answer to the old id (that is what makes a repeat
// safe), so the same id would only get the same refusal back. A note the refused step carried was kept as a
// note already (its result says so), so it is not sent twice.
export async function retry(item) {
  item.mutation = { ...item.mutation, id: crypto.randomUUID(), data: { ...item.mutation.data } };
  if (item.mutation.type === "transition" && item.result?.note) delete item.mutation.data.note;
  Object.assign(item, { state: WAITING, result: null });
  await save(item);
}

// --- The crew's view: the server's document with the waiting edits on top ---------------------------------

// ``items``: outbox items and edits just accepted whose result the server's copy does not show yet.
export function withPending(doc, items, me) {
  const view = structuredClone(doc);
  view.pending = 0;
  for (const item of items) {
    const m = item.mutation;
    if (m.work_order !== doc.id || item.state === REJECTED) continue;
    if (item.settledVersion !== undefined && doc.version >= item.settledVersion) continue;
    view.pending += item.settledVersion === undefined ? 1 : 0;
    APPLY[m.type]?.(view, m, me);
  }
  return view;
}

const APPLY = {
  transition(view, m, me) {
    const { to, note, resolution, hold_reason: holdReason } = m.data;
    view.history = [...view.history, { at: m.occurred_at, device_at: m.occurred_at, received_at: null,
      from: view.status, to, by: me, note: note || "", position: m.position ? [m.position.lon, m.position.lat]
        : null, pending: true }];
    if (to === "in_progress" && !view.actual_start) view.actual_start = m.occurred_at;
    if (to === "on_hold") view.hold_reason = holdReason;
    if (view.status === "on_hold" && to !== "on_hold") view.hold_reason = null;
    if (to === "completed") {
      view.resolution = resolution;
      view.actual_end = m.occurred_at;
      for (const task of view.tasks) if (task.status === "open") task.status = "done";
    }
    view.status = to;
    view.next = null; // worked out from the manifest's transitions by the caller
  },
  edit(view, m) {
    const { tasks, ...fields } = m.data;
    Object.assign(view, fields);
    for (const [id, change] of Object.entries(tasks || {})) {
      const task = view.tasks.find((t) => String(t.id) === String(id));
      if (task) Object.assign(task, change);
    }
  },
  note(view, m, me) {
    if (view.notes.some((n) => n.id === m.id)) return;
    view.notes = [...view.notes, { id: m.id, text: m.data.text, author: me, occurred_at: m.occurred_at,
      received_at: null, pending: true }];
  },
  material(view, m, me) {
    if (view.materials.some((n) => n.id === m.id)) return;
    view.materials = [...view.materials, { id: m.id, ...m.data, author: me, occurred_at: m.occurred_at,
      pending: true }];
  },
};

// What a mutation did, in words, for the outbox list.
export function describe(m, names = {}) {
  switch (m.type) {
    case "transition": {
      const to = names.status?.(m.data.to) || m.data.to;
      return `Status → ${to}${m.data.note ? `: “${m.data.note}”` : ""}`;
    }
    case "edit": {
      const parts = [];
      if (m.data.site_notes !== undefined) parts.push("site notes");
      for (const [task, change] of Object.entries(m.data.tasks || {})) {
        for (const [field, value] of Object.entries(change)) parts.push(`task ${task} ${field} → ${value}`);
      }
      return `Edit: ${parts.join(", ")}`;
    }
    case "note": return `Note: “${m.data.text}”`;
    case "material": return `Material: ${m.data.quantity} ${m.data.unit || ""} ${m.data.item}`.replace(/\s+/g, " ");
    case "position": return "Position";
    default: return m.type;
  }
}
