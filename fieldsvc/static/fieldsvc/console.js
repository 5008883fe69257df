// The dispatcher console (/console/): the city's open work on a map (the vector tiles the caller may see),
// layer toggles, filters applied to the map (MapLibre filter expressions on tile properties) and to the queue,
// a queue of unassigned and overdue work (soonest SLA breach first), a detail panel for a clicked feature with
// the dispatcher's actions, and live updates by short polling.
// MapLibre GL JS comes from our static files (the import map in fieldsvc/console.html). Tests read
// window.fieldsvcConsole.
import * as maplibregl from "maplibre-gl";

// Fresh tiles on every poll: requests and crews are built live; work orders come from the server's cache, which
// drops a tile when a work order in it changes, so asking again costs a cache lookup and is always current.
const LIVE_LAYERS = ["requests", "crews", "work_orders"];
// The registry is dense (a lamp every few metres): shown when asked for, so the open work stands out.
const HIDDEN_AT_START = ["assets", "utility_lines", "utility_structures"];
const options = JSON.parse(document.getElementById("console-options").textContent);
const container = document.getElementById("map");
const queueList = document.getElementById("queue");
const detail = document.getElementById("detail");
const errorBox = document.getElementById("map-errors");
const form = document.getElementById("filters");
const errors = [];
const consoleState = { errors, polls: 0, queue: [], selected: null, filters: {}, plan: null };
window.fieldsvcConsole = consoleState;

// --- Plumbing ---------------------------------------------------------------------------------------------

function showError(message) {
  errors.push(message);
  errorBox.hidden = false;
  errorBox.textContent = errors.slice(-5).join("\n");
}

async function api(url, { method = "GET", body } = {}) {
  const response = await fetch(url, {
    method, credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json", "X-CSRFToken": container.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const reason = data.detail || data.code || Object.entries(data).map(([k, v]) => `${k}: ${v}`).join("; ");
    throw new Error(reason || `HTTP ${response.status}`);
  }
  return data;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child); // text, never HTML
  }
  return node;
}

const label = (code) => (code ? String(code).replaceAll("_", " ").replaceAll("-", " ") : "");
const LAYER_NAMES = { crew_plans: "crew routes today" };
const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "—");

function duration(seconds) {
  const s = Math.abs(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
}

function slaText(breachInS) {
  if (breachInS === null || breachInS === undefined) return el("span", {}, "no SLA");
  if (breachInS < 0) return el("span", { class: "late" }, `overdue by ${duration(breachInS)}`);
  return el("span", { class: breachInS < 4 * 3600 ? "soon" : "" }, `breaches in ${duration(breachInS)}`);
}

// --- Map layers and filters --------------------------------------------------------------------------------

const STATUS_COLOURS = ["match", ["get", "status"], "new", "#d63384", "triaged", "#e35d6a", "ready", "#fd7e14",
  "reopened", "#dc3545", "on_hold", "#adb5bd", "scheduled", "#0dcaf0", "dispatched", "#0d6efd",
  "en_route", "#6610f2", "in_progress", "#198754", "#6c757d"];
const COUNTED = ["has", "count"];
const SIZED_BY_COUNT = ["interpolate", ["linear"], ["coalesce", ["get", "count"], 1], 1, 6, 50, 14, 500, 22];

// How the console draws its layers (the style's own paint otherwise): work orders by status and priority.
const PAINT = {
  work_orders: {
    "circle-color": ["case", COUNTED, "#6a3d9a", STATUS_COLOURS],
    "circle-radius": ["case", COUNTED, SIZED_BY_COUNT, ["match", ["get", "priority"], 1, 10, 2, 8, 3, 6, 5]],
    "circle-stroke-color": "#fff", "circle-stroke-width": 1.5, "circle-opacity": 0.9,
  },
  // A ring, so a request stays visible around the work order carrying it.
  requests: {
    "circle-color": ["case", COUNTED, "#e31a1c", "rgba(227, 26, 28, 0.15)"],
    "circle-radius": ["case", COUNTED, SIZED_BY_COUNT, 11],
    "circle-stroke-color": "#e31a1c", "circle-stroke-width": 2,
  },
};

function filterFor(layer, f, nowS) {
  const parts = [];
  const dated = { requests: "requested_at", work_orders: "created_at" }[layer];
  if (f.department && ["requests", "work_orders", "crews"].includes(layer)) {
    parts.push(["==", ["get", "department"], f.department]);
  }
  if (layer === "crews") return parts.length ? ["all", ...parts] : null;
  if (!["requests", "work_orders"].includes(layer)) return null;
  if (f.service) parts.push(["==", ["get", "service"], f.service]);
  const [kind, status] = (f.status || ":").split(":");
  if (status && kind === (layer === "requests" ? "sr" : "wo")) parts.push(["==", ["get", "status"], status]);
  if (f.overdue) parts.push(["has", "due_at"], ["<", ["get", "due_at"], nowS]);
  if (f.from) parts.push([">=", ["get", dated], f.from]);
  if (f.to) parts.push(["<=", ["get", dated], f.to]);
  // Counted groups carry no properties: while a filter is set they are hidden, not shown unfiltered.
  return parts.length ? ["all", ["!", COUNTED], ...parts] : null;
}

function applyFilters(map) {
  const f = consoleState.filters;
  const nowS = Math.floor(Date.now() / 1000);
  for (const layer of map.getStyle().layers) {
    if (layer.type === "background" || !map.getSource(layer.source) || ["plan", "plans"].includes(layer.source)) {
      if (layer.id === "crew_plans") map.setFilter(layer.id, f.department ? ["==", ["get", "department"], f.department]
        : null);
      continue;
    }
    map.setFilter(layer.id, filterFor(layer.id, f, nowS));
  }
}

function readFilters() {
  const data = new FormData(form);
  consoleState.filters = {
    department: data.get("department"), service: data.get("service"), status: data.get("status"),
    overdue: data.get("overdue") === "on", from: data.get("from"), to: data.get("to"),
  };
}

function fillFilterOptions() {
  const department = document.getElementById("filter-department");
  for (const d of options.departments) department.append(el("option", { value: d.code }, d.name));
  const service = document.getElementById("filter-service");
  for (const s of options.services) service.append(el("option", { value: s.code }, s.name));
  const status = document.getElementById("filter-status");
  status.append(el("optgroup", { label: "Work orders" },
    options.workOrderStatuses.map((s) => el("option", { value: `wo:${s.code}` }, s.name))));
  status.append(el("optgroup", { label: "Requests" },
    options.requestStatuses.map((s) => el("option", { value: `sr:${s.code}` }, s.name))));
}

function buildLayerList(map) {
  const list = document.getElementById("layers");
  for (const layer of map.getStyle().layers) {
    if (layer.type === "background" || layer.source === "plan") continue;
    const toggle = el("input", { type: "checkbox", name: `layer-${layer.id}` });
    toggle.checked = !HIDDEN_AT_START.includes(layer.id);
    if (!toggle.checked) map.setLayoutProperty(layer.id, "visibility", "none");
    toggle.addEventListener("change", () => {
      map.setLayoutProperty(layer.id, "visibility", toggle.checked ? "visible" : "none");
    });
    const paint = map.getPaintProperty(layer.id, `${layer.type}-color`);
    const swatch = el("span", { class: "swatch" });
    const stroke = layer.type === "circle" ? map.getPaintProperty(layer.id, "circle-stroke-color") : null;
    swatch.style.background = typeof paint === "string" ? paint : layer.id === "requests" ? stroke : "#6a3d9a";
    const name = LAYER_NAMES[layer.id] || label(layer.id);
    const item = el("li", { "data-layer": layer.id }, el("label", {}, toggle, swatch, name));
    if (layer.id === "work_orders") { // colour by status, size by priority (P1 largest)
      const pairs = STATUS_COLOURS.slice(2, -1);
      const keys = [];
      for (let n = 0; n < pairs.length; n += 2) {
        const dot = el("i", { class: "swatch" });
        dot.style.background = pairs[n + 1];
        keys.push(el("span", {}, dot, label(pairs[n])));
      }
      item.append(el("div", { class: "legend-status" }, keys, el("span", {}, "larger: higher priority")));
    }
    list.append(item);
  }
}

// Fresh tiles for the live layers (and, after a change, the work orders), without a reload.
function refreshTiles(map, layers) {
  for (const name of layers) {
    const source = map.getSource(name);
    if (!source?.tiles) continue;
    const base = source.tiles[0].split("?")[0];
    source.setTiles([`${base}?v=${Date.now()}`]);
  }
}

// --- Queue ------------------------------------------------------------------------------------------------

function queueMatches(item, f) {
  const [kind, status] = (f.status || ":").split(":");
  if (kind === "wo" && status && item.status !== status) return false;
  if (f.overdue && !item.overdue) return false;
  const created = item.created_at?.slice(0, 10);
  if (f.from && created < f.from) return false;
  if (f.to && created > f.to) return false;
  return true;
}

async function refreshPlans() {
  const source = consoleState.map?.getSource("plans");
  if (!source) return;
  const data = await api(container.dataset.plansUrl);
  consoleState.plans = data.features.length;
  source.setData({ type: "FeatureCollection", features: data.features.filter((f) => f.geometry) });
}

async function refreshQueue() {
  const f = consoleState.filters;
  const params = new URLSearchParams();
  if (f.department) params.set("department", f.department);
  if (f.service) params.set("service", f.service);
  const data = await api(`${container.dataset.queueUrl}?${params}`);
  const before = consoleState.queue.map((i) => `${i.id}:${i.version}`).join();
  consoleState.queue = data.items.filter((item) => queueMatches(item, f));
  document.getElementById("queue-count").textContent = `(${consoleState.queue.length})`;
  queueList.replaceChildren(...consoleState.queue.map((item) => el("li", {
    tabindex: 0, "data-id": item.id, onclick: () => openWorkOrder(item.id, item.lonlat),
    onkeydown: (event) => event.key === "Enter" && openWorkOrder(item.id, item.lonlat),
  }, el("div", { class: "title" }, `WO-${item.id} ${item.title}`),
  el("div", { class: "meta" }, slaText(item.breach_in_s), ` · ${label(item.status)} · P${item.priority} · `,
    item.department, item.crew ? ` · crew ${item.crew}` : ""))));
  return before !== consoleState.queue.map((i) => `${i.id}:${i.version}`).join();
}

// --- Detail and actions -----------------------------------------------------------------------------------

function message(text, isError = false) {
  const box = document.getElementById("message");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "error" : "";
}

function facts(pairs) {
  return el("dl", {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

// Photos stored here are shown; a link a client sent (Open311 media_url) stays a link: the console loads
// nothing from elsewhere by itself.
function photo(url, reference) {
  const where = new URL(url, window.location.href);
  if (where.origin === window.location.origin) return el("img", { src: where.href, alt: `photo of ${reference}` });
  return el("p", {}, el("a", { href: where.href, target: "_blank", rel: "noopener noreferrer" }, "photo (elsewhere)"));
}

function requestSection(r) {
  const link = r.link || {};
  const utilities = (link.utilities || []).map((u) => el("li", {},
    [label(u.kind), u.type || u.line_type || u.structure_type, u.external_id, u.material,
      u.diameter_mm ? `${u.diameter_mm} mm` : "", u.distance_m !== undefined ? `${Number(u.distance_m).toFixed(1)} m`
        : ""].filter(Boolean).join(" · ")));
  return el("section", { class: "request", "data-request": r.id },
    el("h2", {}, `Request ${r.reference}: ${r.service_name}`),
    r.description ? el("p", { class: "description" }, r.description) : null,
    r.photos.map((url) => photo(url, r.reference)),
    facts([["Status", label(r.detailed_status)], ["SLA", slaText(r.breach_in_s)], ["Due", when(r.expected_at)],
      ["Reported", when(r.requested_at)], ["Address", r.address], ["Area", r.district],
      ["Department", r.department_name], ["Duplicate of", r.duplicate_of],
      ["Asset", link.asset ? `${link.asset.type} ${link.asset.external_id} (${Number(link.asset_distance_m)
        .toFixed(1)} m)` : null]]),
    link.explanation ? el("p", { class: "explanation" }, link.explanation) : null,
    utilities.length ? [el("h2", {}, "Utilities beneath"), el("ul", { class: "utilities" }, utilities)] : null,
    r.status === "open" ? requestActions(r) : null,
    el("h2", {}, "History"),
    el("ol", { class: "history" }, r.history.map((n) => el("li", {}, `${when(n.at)} ${label(n.status)}`,
      n.note ? ` — ${n.note}` : "", n.by ? ` (${n.by})` : ""))));
}

// Triage of an open request: another service, a duplicate of another request, a work order of its own.
function requestActions(r) {
  const base = `/api/console/requests/${r.id}`;
  const after = async (call, done) => {
    try {
      await call();
      await reopen(r);
      message(done);
      refreshTiles(consoleState.map, ["work_orders", "requests"]);
      await refreshQueue();
    } catch (error) {
      message(error.message, true);
    }
  };
  const service = el("select", { name: "service", "aria-label": "Service" },
    options.services.filter((s) => s.code !== r.service).map((s) => el("option", { value: s.code }, s.name)));
  const reclassify = el("button", { type: "button", class: "reclassify", onclick: () => after(
    () => api(`${base}/reclassify`, { method: "POST", body: { service: service.value } }),
    `Request ${r.reference} is now ${service.selectedOptions[0].textContent}.`) }, "Reclassify");
  const into = el("input", { name: "into", placeholder: "original's number", "aria-label": "Original request",
    size: 12 });
  const merge = el("button", { type: "button", class: "merge", onclick: () => after(
    () => api(`${base}/merge`, { method: "POST", body: { into: into.value } }),
    `Request ${r.reference} is filed as a duplicate of ${into.value}.`) }, "Merge as duplicate");
  const create = r.work_order ? null : el("button", { type: "button", class: "create-work-order", onclick: () => after(
    () => api(`${base}/work-order`, { method: "POST", body: {} }), `Work order made for ${r.reference}.`) },
  "Make a work order");
  return el("div", { class: "triage" },
    el("div", { class: "actions" }, service, reclassify),
    el("div", { class: "actions" }, into, merge, create));
}

// After a change to a request: its work order's detail if it has one, else the request's.
async function reopen(r) {
  const fresh = await api(`/api/console/requests/${r.id}`);
  if (fresh.work_order && consoleState.selected?.kind === "work_order") await openWorkOrder(fresh.work_order.id);
  else await openRequest(r.id, { direct: true });
}

function transitionForm(wo) {
  const next = options.allowed[wo.status] || [];
  if (!next.length) return null;
  const to = el("select", { name: "to", "aria-label": "New status" },
    el("option", { value: "" }, "move to…"), next.map((s) => el("option", { value: s }, label(s))));
  const hold = el("select", { name: "hold_reason", "aria-label": "Hold reason" },
    el("option", { value: "" }, "hold reason…"),
    options.holdReasons.map((h) => el("option", { value: h.code }, h.name)));
  const resolution = el("select", { name: "resolution", "aria-label": "Resolution" },
    el("option", { value: "" }, "resolution…"),
    options.resolutions.map((x) => el("option", { value: x.code }, x.name)));
  const note = el("input", { name: "note", placeholder: "note", "aria-label": "Note" });
  const go = el("button", { type: "button", id: "transition-button", onclick: async () => {
    if (!to.value) return message("Choose the new status first.", true);
    const body = { to: to.value, note: note.value, version: wo.version };
    if (hold.value) body.hold_reason = hold.value;
    if (resolution.value) body.resolution = resolution.value;
    await act(wo.id, () => api(`/api/work-orders/${wo.id}/transition`, { method: "POST", body }),
      `Work order ${wo.id} is now ${label(to.value)}.`);
  } }, "Move");
  return el("div", { class: "actions" }, to, hold, resolution, note, go);
}

async function assignForm(wo) {
  const box = el("div", { class: "actions", id: "assign" }, "Finding crews…");
  const [best, all] = await Promise.all([
    api(`/api/work-orders/${wo.id}/best-crews`).catch(() => ({ crews: [] })),
    api(`/api/crews?department=${encodeURIComponent(wo.department)}`).catch(() => ({ features: [] })),
  ]);
  const ranked = new Set(best.crews.map((c) => c.id));
  const select = el("select", { name: "crew", "aria-label": "Crew" },
    best.crews.map((c, n) => el("option", { value: c.id }, `${n === 0 ? "★ suggested: " : ""}${c.code} — `
      + `${c.travel_min} min away, ${c.load}/${c.max_load} jobs`)),
    all.features.filter((c) => !ranked.has(c.id)).map((c) => el("option", { value: c.id },
      `${c.properties.code} (not available now)`)));
  if (!select.options.length) {
    box.replaceChildren("No crew of the department.");
    return box;
  }
  const go = el("button", { type: "button", id: "assign-button", onclick: async () => {
    await act(wo.id, async () => {
      let version = wo.version;
      if (["new", "triaged", "reopened"].includes(wo.status)) { // assigning untriaged work triages it first
        const ready = await api(`/api/work-orders/${wo.id}/transition`, {
          method: "POST", body: { to: "ready", note: "triaged in the dispatcher console", version } });
        version = ready.properties.version;
      }
      return api(`/api/work-orders/${wo.id}/assign`, {
        method: "POST", body: { crew: Number(select.value), version } });
    }, `Work order ${wo.id} assigned to ${select.selectedOptions[0].textContent.replace("★ suggested: ", "")
      .split(" — ")[0]}.`);
  } }, "Assign");
  box.replaceChildren(el("label", { class: "assign" }, "Assign to", select), go);
  return box;
}

async function act(workOrderId, call, done) {
  try {
    await call();
    await openWorkOrder(workOrderId);
    message(done);
    refreshTiles(consoleState.map, ["work_orders", "requests"]);
    await refreshQueue();
  } catch (error) {
    message(error.message, true);
  }
}

function show(...children) {
  detail.hidden = false;
  detail.parentElement.scrollTop = 0; // the detail sits above the queue
  detail.replaceChildren(el("button", { type: "button", class: "close", onclick: () => {
    detail.hidden = true;
    consoleState.selected = null;
  } }, "Close"), el("p", { id: "message", role: "status" }), ...children);
}

let opened = 0;

async function openWorkOrder(id, lonlat) {
  if (lonlat) consoleState.map.easeTo({ center: lonlat, zoom: Math.max(consoleState.map.getZoom(), 16) });
  const turn = ++opened; // a later opening (a click, a poll) wins over one still loading
  const feature = await api(`/api/work-orders/${id}`);
  const wo = feature.properties;
  const assignable = !["completed", "closed", "cancelled", "in_progress"].includes(wo.status);
  const [requests, assign] = await Promise.all([
    Promise.all(wo.requests.map((r) => api(`/api/console/requests/${r.id}`).catch(() => null))),
    assignable ? assignForm(wo) : null]);
  if (turn !== opened) return;
  consoleState.selected = { kind: "work_order", id, status: wo.status, crew: wo.crew, version: wo.version };
  const section = el("section", { class: "work-order", "data-work-order": wo.id, "data-status": wo.status },
    el("h2", {}, `WO-${wo.id} ${wo.title}`),
    facts([["Status", label(wo.status)], ["Priority", `P${wo.priority}`], ["Department", wo.department],
      ["Service", wo.service], ["Crew", wo.crew], ["Due", when(wo.due_at)],
      ["SLA", wo.due_at ? slaText((new Date(wo.due_at) - Date.now()) / 1000) : slaText(null)],
      ["SLA clock", wo.sla_hours ? `${wo.sla_hours} h (${wo.sla_clock})` : null],
      ["Hold", wo.hold_reason], ["Resolution", wo.resolution]]),
    assign, transitionForm(wo), conflictSection(wo), fieldSection(wo),
    el("h2", {}, "Tasks"),
    el("ol", {}, wo.tasks.map((t) => el("li", {}, `${t.description} (${t.status}, ${t.estimated_minutes} min)`))),
    el("h2", {}, "Work order history"),
    el("ol", { class: "history" }, wo.history.map((e) => el("li", {}, `${when(e.at)} ${label(e.from) || "∅"} → `
      + `${label(e.to)} (${e.by})`, e.note ? ` — ${e.note}` : ""))));
  show(section, ...requests.filter(Boolean).map(requestSection));
}

// Edits made apart that clashed: both values are kept until someone here picks one (supervisors, dispatchers).
function conflictSection(wo) {
  if (!wo.conflicts || !wo.conflicts.length) return null;
  const shown = (v) => (v === null || v === "" ? "(empty)" : String(v));
  return el("section", { class: "conflicts", "data-open-conflicts": wo.conflicts.length },
    el("h2", {}, `Conflicts to settle (${wo.conflicts.length})`),
    el("ul", {}, wo.conflicts.map((c) => el("li", { "data-conflict": c.id },
      el("strong", {}, c.field), ` — in place: ${shown(c.theirs)}; from ${c.author}: ${shown(c.yours)} `,
      ...["theirs", "yours"].map((choose) => el("button", { type: "button", onclick: () => act(wo.id,
        () => api(`/api/work-orders/${wo.id}/conflicts/${c.id}/resolve`, { method: "POST", body: { choose } }),
        `Conflict on ${c.field} settled`) }, choose === "theirs" ? `Keep ${shown(c.theirs)}` : `Take ${shown(c.yours)}`))))));
}

// What the crew's tablets sent: notes, materials used, photos.
function fieldSection(wo) {
  const items = [...(wo.notes || []).map((n) => el("li", {}, `${when(n.occurred_at)} ${n.author}: ${n.text}`)),
    ...(wo.materials || []).map((m) => el("li", {}, `${m.quantity} ${m.unit} ${m.item} (${m.author})`)),
    ...(wo.photos || []).map((p) => el("li", {}, el("a", { href: p.url, target: "_blank" }, `Photo ${when(p.taken_at)}`)))];
  if (!items.length && !wo.site_notes && !wo.instructions) return null;
  return el("section", { class: "from-the-field" }, el("h2", {}, "From the field"),
    facts([["Instructions", wo.instructions || null], ["Site notes", wo.site_notes || null]]), el("ul", {}, items));
}

async function openRequest(id, { direct = false } = {}) {
  const turn = ++opened;
  const r = await api(`/api/console/requests/${id}`);
  if (r.work_order && !direct) {
    await openWorkOrder(r.work_order.id);
    return;
  }
  if (turn !== opened) return;
  consoleState.selected = { kind: "request", id };
  show(requestSection(r));
}

async function openCrew(properties, lngLat) {
  opened += 1;
  consoleState.selected = { kind: "crew", id: properties.id };
  const planButton = el("button", { type: "button", id: "plan-button", onclick: () => drawPlan(properties, lngLat) },
    "Show today's route");
  const replan = el("button", { type: "button", id: "replan-button", onclick: async () => {
    try {
      await api(`/api/departments/${properties.department}/day-plans`, { method: "POST", body: {} });
      message("A new day plan is being made; show the route again in a moment.");
    } catch (error) {
      message(error.message, true);
    }
  } }, "Re-plan the department's day");
  show(el("section", { class: "crew" }, el("h2", {}, `Crew ${properties.code}`),
    facts([["Name", properties.name], ["Department", properties.department]]),
    el("div", { class: "actions" }, planButton, replan), el("ol", { id: "plan-stops" })));
}

async function drawPlan(crew, lngLat) {
  try {
    const plan = await api(`/api/crews/${crew.id}/plan`);
    const stops = plan.features.filter((f) => f.geometry);
    const line = [[lngLat.lng, lngLat.lat], ...stops.map((f) => f.geometry.coordinates)];
    consoleState.plan = { crew: crew.id, stops: stops.length };
    consoleState.map.getSource("plan").setData({ type: "FeatureCollection", features: [
      { type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: line } }, ...stops] });
    if (stops.length) {
      const bounds = line.reduce((b, point) => b.extend(point), new maplibregl.LngLatBounds(line[0], line[0]));
      consoleState.map.fitBounds(bounds, { padding: 60, maxZoom: 17, duration: 0 });
    }
    document.getElementById("plan-stops").replaceChildren(...plan.features.map((f) => el("li", {},
      `${when(f.properties.arrive_at)} WO-${f.properties.id} ${f.properties.title} (${label(f.properties.status)})`)));
    message(stops.length ? `${stops.length} stops, plan version ${plan.plan.version}.` : "No plan for today yet.");
  } catch (error) {
    message(error.message, true);
  }
}

function onClick(map, event) {
  const box = [[event.point.x - 5, event.point.y - 5], [event.point.x + 5, event.point.y + 5]];
  const features = map.queryRenderedFeatures(box).filter((f) => f.properties.id !== undefined
    && ["work_orders", "requests", "crews"].includes(f.layer.id));
  const rank = { crews: 0, work_orders: 1, requests: 2 };
  features.sort((a, b) => rank[a.layer.id] - rank[b.layer.id]);
  const [feature] = features;
  if (!feature) return;
  const open = { work_orders: () => openWorkOrder(feature.properties.id),
    requests: () => openRequest(feature.properties.id),
    crews: () => openCrew(feature.properties, event.lngLat) }[feature.layer.id];
  open().catch((error) => showError(`Could not open ${feature.layer.id} ${feature.properties.id}: ${error.message}`));
}

// The storage area is a whole state plane zone: once the neighbourhoods are drawn, show just them (the city).
function fitToNeighbourhoods(map) {
  if (!map.getSource("neighbourhoods")) return;
  const bounds = new maplibregl.LngLatBounds();
  const extend = (c) => (typeof c[0] === "number" ? bounds.extend(c) : c.forEach(extend));
  for (const f of map.querySourceFeatures("neighbourhoods", { sourceLayer: "neighbourhoods" })) {
    extend(f.geometry.coordinates);
  }
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 20, duration: 0 });
}

// --- Start ------------------------------------------------------------------------------------------------

async function start() {
  fillFilterOptions();
  readFilters();
  const style = await api(container.dataset.styleUrl);
  for (const layer of style.layers) Object.assign(layer.paint || {}, PAINT[layer.id] || {});
  const [first] = Object.values(style.sources);
  const bounds = first ? (await api(first.url)).bounds : undefined;
  const shared = /^#[\d.]+\//.test(window.location.hash); // #zoom/lat/lon: a view someone shared
  const map = new maplibregl.Map({ container, style, bounds, hash: true });
  if (!shared) map.once("idle", () => fitToNeighbourhoods(map));
  consoleState.map = map;
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  map.on("error", (event) => showError(`Map error: ${event.error?.message || event.error || "unknown"}`));
  map.on("load", () => {
    // Every crew's route in today's plans (a toggle, refreshed with the queue), and the one crew asked for.
    map.addSource("plans", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "crew_plans", type: "line", source: "plans",
      paint: { "line-color": "#33a02c", "line-width": 2, "line-opacity": 0.7 } }, map.getLayer("crews") ? "crews"
      : undefined);
    map.addSource("plan", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "plan-route", type: "line", source: "plan", filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": "#198754", "line-width": 4, "line-dasharray": [2, 1] } });
    map.addLayer({ id: "plan-stops", type: "circle", source: "plan", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#fff", "circle-radius": 6, "circle-stroke-color": "#198754",
        "circle-stroke-width": 3 } });
    buildLayerList(map);
    applyFilters(map);
    refreshPlans().catch((error) => showError(`Plans: ${error.message}`));
    consoleState.ready = true;
  });
  map.on("click", (event) => onClick(map, event));
  map.on("mousemove", (event) => {
    const hits = map.queryRenderedFeatures([[event.point.x - 5, event.point.y - 5],
      [event.point.x + 5, event.point.y + 5]]).filter((f) => f.properties.id !== undefined);
    map.getCanvas().style.cursor = hits.length ? "pointer" : "";
  });
  form.addEventListener("change", () => {
    readFilters();
    applyFilters(map);
    refreshQueue().catch((error) => showError(`Queue: ${error.message}`));
  });
  form.addEventListener("reset", () => setTimeout(() => form.dispatchEvent(new Event("change")), 0));
  await refreshQueue();
  setInterval(poll, options.pollMs);
}

// Every few seconds: the queue, the live layers' tiles, the overdue filter's "now", the open work order's detail
// when someone else changed it.
async function poll() {
  const map = consoleState.map;
  try {
    await Promise.all([refreshQueue(), refreshPlans()]);
    refreshTiles(map, LIVE_LAYERS);
    const selected = consoleState.selected;
    const listed = selected?.kind === "work_order" && consoleState.queue.find((i) => i.id === selected.id);
    if (listed && listed.version !== selected.version && !detail.contains(document.activeElement)) {
      await openWorkOrder(selected.id);
    }
    if (consoleState.filters.overdue) applyFilters(map);
    consoleState.polls += 1;
  } catch (error) {
    showError(`Live update failed: ${error.message}`);
  }
}

start().catch((error) => showError(`The console could not start: ${error.message}`));
