// DOM and wording helpers shared by the screens: elements built from text (never HTML: titles, notes and
// addresses come from residents and crews), times in the tablet's own words, and the manifest's option lists.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false || name === "value") continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  // After the children: a select's value needs its options; a textarea's is not an attribute.
  if (attributes.value !== undefined && attributes.value !== null) node.value = attributes.value;
  return node;
}

const FALLBACK = {
  statuses: [["dispatched", "Dispatched"], ["en_route", "En route"], ["in_progress", "In progress"],
    ["on_hold", "On hold"], ["completed", "Completed"], ["closed", "Closed"], ["cancelled", "Cancelled"],
    ["scheduled", "Scheduled"], ["ready", "Ready"], ["reopened", "Reopened"]],
  conditions: [["good", "Good"], ["fair", "Fair"], ["poor", "Poor"], ["failed", "Failed"]],
  hold_reasons: [["waiting_material", "Waiting for material"], ["waiting_access", "Waiting for access"],
    ["other_department", "Waiting for another department"], ["weather", "Weather"], ["other", "Other"]],
  resolutions: [["fixed", "Fixed"], ["no_fault_found", "No fault found"], ["not_city", "Not the city's responsibility"]],
  units: [["each", "each"], ["bag", "bag"], ["m", "m"], ["kg", "kg"], ["l", "l"]],
};

// An option list from the manifest ({code, name} objects, [code, name] pairs or plain codes), else ours.
export function options(manifest, name) {
  const found = manifest?.options?.[name] ?? manifest?.[name];
  const list = Array.isArray(found) && found.length ? found : FALLBACK[name] || [];
  return list.map((o) => (Array.isArray(o) ? o : typeof o === "string" ? [o, words(o)]
    : [o.code ?? o.value ?? o.id, o.name ?? o.label ?? words(o.code ?? o.value)]));
}

export const words = (code) => (code ? String(code).replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : "");

export function optionName(manifest, list, code) {
  return options(manifest, list).find(([c]) => c === code)?.[1] || words(code);
}

// The time only when it is today's (the header has little room), else the day too.
export function clock(iso) {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : when(iso);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return `today ${time}`;
  return `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

export function dueText(iso, done) {
  if (!iso) return "no due time";
  const left = (Date.parse(iso) - Date.now()) / 60000;
  if (done || left >= 0) return `due ${when(iso)}`;
  const late = -left;
  return `overdue ${late >= 120 ? `${Math.round(late / 60)} h` : `${Math.round(late)} min`}`;
}

// Statuses as the crew speaks of them, and the button each next step gets.
export const STEP_BUTTON = { en_route: "On my way", in_progress: "Start work", on_hold: "Pause",
  completed: "Complete" };
