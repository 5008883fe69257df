// One work order: what to do (instructions, site notes, the residents' requests with their photos, the tasks
// with their assets), the crew's steps (start, pause, resume, complete), and what the crew adds (asset
// condition, task done, notes, materials, photos). Every action goes through ctx.actions, which applies it here
// at once and queues it for the server.
import * as photos from "./photos.js";
import { dueText, el, optionName, options, STEP_BUTTON, when, words } from "./ui.js";

// Text fields keep what was typed across redraws (a sync can redraw while someone types): see app.js.
const draft = (ctx, wo, name, attributes = {}) => ({ ...attributes, "data-draft": `${wo.id}:${name}`,
  value: ctx.drafts[`${wo.id}:${name}`] ?? attributes.value ?? "" });

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function conflictsBox(ctx, wo) {
  if (!wo.conflicts.length) return null;
  return el("section", { class: "conflicts", role: "alert" },
    el("h3", {}, "⚠ Changed by someone else too"),
    el("p", {}, "Both values are kept; a supervisor will decide."),
    el("ul", {}, wo.conflicts.map((c) => el("li", { "data-field": c.field },
      el("strong", {}, fieldName(wo, c.field)), ": theirs ", el("q", {}, show(c.theirs)), ", yours ",
      el("q", {}, show(c.yours)), c.author ? ` (${c.author})` : ""))));
}

const show = (value) => (value === null || value === undefined || value === "" ? "(empty)" : String(value));

function fieldName(wo, field) {
  const task = /^tasks\.(\d+)\.(\w+)$/.exec(field);
  if (!task) return words(field);
  const found = wo.tasks.find((t) => String(t.id) === task[1]);
  return `${words(task[2])} of ${found ? found.description : `task ${task[1]}`}`;
}

function stepButtons(ctx, wo) {
  const buttons = wo.next.filter((to) => STEP_BUTTON[to]).map((to) => {
    const label = to === "in_progress" && wo.status === "on_hold" ? "Resume" : STEP_BUTTON[to];
    const needsForm = to === "on_hold" || to === "completed";
    return el("button", { type: "button", class: `button big${to === "completed" || to === "in_progress" ? " primary" : ""}`,
      "data-step": to, "aria-expanded": needsForm ? String(ctx.panel === to) : null,
      onclick: () => (needsForm ? ctx.actions.openPanel(ctx.panel === to ? null : to)
        : ctx.actions.transition(wo, to, {})) }, label);
  });
  return el("div", { class: "steps" }, buttons.length ? buttons : el("p", { class: "muted" }, "No step to take now."));
}

function choiceList(ctx, wo, name, list) {
  return el("fieldset", { class: "choices" }, list.map(([code, label]) => el("label", { class: "choice" },
    el("input", { type: "radio", name: `${wo.id}-${name}`, value: code, "data-draft": `${wo.id}:${name}:${code}`,
      checked: ctx.drafts[`${wo.id}:${name}`] === code,
      onchange: () => { ctx.drafts[`${wo.id}:${name}`] = code; } }), el("span", {}, label))));
}

function stepPanel(ctx, wo) {
  const to = ctx.panel;
  if (!wo.next.includes(to)) return null;
  const list = to === "completed" ? options(ctx.manifest, "resolutions") : options(ctx.manifest, "hold_reasons");
  const name = to === "completed" ? "resolution" : "hold_reason";
  const submit = () => {
    const choice = ctx.drafts[`${wo.id}:${name}`];
    if (!choice) {
      ctx.actions.say(to === "completed" ? "Choose how it was resolved." : "Choose why it is paused.");
      return;
    }
    const note = (ctx.drafts[`${wo.id}:${to}-note`] || "").trim();
    ctx.actions.transition(wo, to, { [name]: choice, note });
    delete ctx.drafts[`${wo.id}:${name}`];
    delete ctx.drafts[`${wo.id}:${to}-note`];
  };
  return el("section", { class: "panel", id: "step-panel", "data-step": to },
    el("h3", {}, to === "completed" ? "Complete: how was it resolved?" : "Pause: why?"),
    choiceList(ctx, wo, name, list),
    el("label", { class: "field" }, "Note (optional)",
      el("textarea", draft(ctx, wo, `${to}-note`, { rows: 2, name: `${to}-note` }))),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "button big primary", id: "step-confirm", onclick: submit },
        to === "completed" ? "Complete work order" : "Pause work"),
      el("button", { type: "button", class: "button big", onclick: () => ctx.actions.openPanel(null) }, "Cancel")));
}

function taskRow(ctx, wo, task) {
  const conditions = options(ctx.manifest, "conditions");
  const asset = task.asset;
  return el("li", { class: "task", "data-task": task.id },
    el("p", { class: "task-title" }, el("strong", {}, `${task.sequence}. `), task.description),
    asset ? el("p", { class: "muted" }, `Asset ${asset.external_id}`, typeof asset.type === "string" ? ` (${words(asset.type)})` : "") : null,
    asset ? el("fieldset", { class: "segmented", "aria-label": "Asset condition" },
      el("legend", {}, "Asset condition"),
      conditions.map(([code, label]) => el("button", { type: "button", class: `seg${task.condition === code ? " on" : ""}`,
        "aria-pressed": String(task.condition === code), "data-condition": code,
        onclick: () => ctx.actions.edit(wo, { tasks: { [task.id]: { condition: code } } }) }, label))) : null,
    el("button", { type: "button", class: `button toggle${task.status === "done" ? " on" : ""}`,
      "aria-pressed": String(task.status === "done"), "data-task-done": task.id,
      disabled: task.status === "cancelled",
      onclick: () => ctx.actions.edit(wo, { tasks: { [task.id]: { status: task.status === "done" ? "open" : "done" } } }) },
    task.status === "done" ? "✓ Done" : "Mark done"));
}

function requestBlock(request) {
  return el("article", { class: "request" },
    el("h4", {}, `${request.reference} · ${request.service}`),
    el("p", {}, request.description || "(no description)"),
    el("p", { class: "muted" }, request.address || "", ` · reported ${when(request.requested_at)}`),
    request.photos.map((url) => el("img", { class: "photo", src: url, alt: "Resident's photo", loading: "lazy" })),
    request.routing?.explanation ? el("p", { class: "explanation" }, request.routing.explanation) : null,
    request.utilities?.length ? el("div", {}, el("p", { class: "label" }, "Utilities beneath"),
      el("ul", { class: "utilities" }, request.utilities.map((u) => el("li", {},
        [words(u.kind), u.network, u.type, u.material, u.diameter_mm ? `${u.diameter_mm} mm` : null]
          .filter(Boolean).join(" · "), u.distance_m !== undefined ? ` — ${Math.round(u.distance_m)} m away` : "")))) : null);
}

function addForms(ctx, wo) {
  const units = options(ctx.manifest, "units");
  const taskChoices = wo.tasks.map((t) => el("option", { value: t.id }, `${t.sequence}. ${t.description}`));
  return el("section", { class: "add" },
    el("h3", {}, "Add"),
    el("form", { class: "row-form", id: "note-form", onsubmit: (event) => {
      event.preventDefault();
      const text = (ctx.drafts[`${wo.id}:note`] || "").trim();
      if (!text) return ctx.actions.say("Write the note first.");
      delete ctx.drafts[`${wo.id}:note`];
      return ctx.actions.note(wo, text);
    } },
    el("label", { class: "field grow" }, "Note", el("textarea", draft(ctx, wo, "note", { rows: 2, name: "note" }))),
    el("button", { type: "submit", class: "button big" }, "Add note")),
    el("form", { class: "row-form", id: "material-form", onsubmit: (event) => {
      event.preventDefault();
      const item = (ctx.drafts[`${wo.id}:item`] || "").trim();
      const quantity = Number(ctx.drafts[`${wo.id}:quantity`] || "1");
      if (!item || !(quantity > 0)) return ctx.actions.say("Give the material and a quantity above 0.");
      const form = event.target;
      const task = form.elements.task.value ? Number(form.elements.task.value) : null;
      for (const key of ["item", "quantity"]) delete ctx.drafts[`${wo.id}:${key}`];
      return ctx.actions.material(wo, { item, quantity, unit: form.elements.unit.value, task });
    } },
    el("label", { class: "field grow" }, "Material", el("input", draft(ctx, wo, "item", { name: "item",
      autocomplete: "off", list: "materials-list" }))),
    el("label", { class: "field narrow" }, "Quantity", el("input", draft(ctx, wo, "quantity", { name: "quantity",
      type: "number", inputmode: "decimal", min: "0", step: "any", value: "1" }))),
    el("label", { class: "field narrow" }, "Unit", el("select", draft(ctx, wo, "unit", { name: "unit",
      value: units[0]?.[0] }), units.map(([code, label]) => el("option", { value: code }, label)))),
    wo.tasks.length > 1 ? el("label", { class: "field" }, "Task", el("select", draft(ctx, wo, "task", { name: "task" }),
      el("option", { value: "" }, "—"), taskChoices)) : el("input", { type: "hidden", name: "task",
      value: wo.tasks[0]?.id ?? "" }),
    el("button", { type: "submit", class: "button big" }, "Add material")),
    el("label", { class: "button big primary photo-button" }, "Take photo",
      el("input", { type: "file", accept: "image/*", capture: "environment", id: "photo-input", class: "visually-hidden",
        onchange: (event) => {
          const [file] = event.target.files;
          if (file) ctx.actions.photo(wo, file);
          event.target.value = "";
        } })));
}

function record(wo) {
  const history = [...wo.history].reverse();
  return [
    el("h3", {}, "Notes"),
    wo.notes.length ? el("ul", { class: "notes" }, wo.notes.map((n) => el("li", { class: n.pending ? "pending" : "",
      "data-note": n.id }, el("p", {}, n.text), el("p", { class: "muted" }, `${n.author} · ${when(n.occurred_at)}`,
      n.pending ? " · not sent yet" : "")))) : el("p", { class: "muted" }, "No notes."),
    el("h3", {}, "Materials"),
    wo.materials.length ? el("ul", { class: "materials" }, wo.materials.map((m) => el("li", {
      class: m.pending ? "pending" : "", "data-material": m.id },
    `${m.quantity} ${m.unit || ""} ${m.item}`, el("span", { class: "muted" }, ` · ${m.author} · ${when(m.occurred_at)}`,
      m.pending ? " · not sent yet" : "")))) : el("p", { class: "muted" }, "None used."),
    el("h3", {}, "Photos"),
    wo.photos.length || wo.localPhotos.length ? el("div", { class: "photos" },
      wo.photos.map((p) => el("figure", { "data-photo": p.id }, el("img", { class: "photo", src: p.url, alt: "Work photo",
        loading: "lazy" }), el("figcaption", { class: "muted" }, `${p.author} · ${when(p.taken_at)}`))),
      wo.localPhotos.map((p) => el("figure", { "data-photo": p.photo_id, class: "pending" },
        el("img", { class: "photo", src: photos.localUrl(p), alt: "Work photo (not sent yet)" }),
        el("figcaption", { class: "muted" }, `${when(p.taken_at)} · ${p.state === photos.REJECTED
          ? `not accepted: ${p.error}` : p.state === photos.UPLOADED ? "sent" : "not sent yet"}`))))
      : el("p", { class: "muted" }, "No photos."),
    el("h3", {}, "History"),
    el("ol", { class: "history" }, history.map((e) => el("li", { class: e.pending ? "pending" : "" },
      el("strong", {}, when(e.at)), ` ${e.from ? `${words(e.from)} → ` : ""}${words(e.to)} · ${e.by || ""}`,
      e.note ? ` — ${e.note}` : "", e.pending ? " · not sent yet" : ""))),
  ];
}

export function detailScreen(ctx, wo) {
  if (!wo) {
    return el("div", { class: "screen" }, el("p", {}, el("a", { class: "button", href: "#/" }, "← My work")),
      el("p", {}, "This work order is not on this tablet (any longer)."));
  }
  const done = ["completed", "closed", "cancelled"].includes(wo.status);
  return el("div", { class: "screen detail-screen", "data-work-order": wo.id, "data-status": wo.status },
    el("div", { class: "detail-head" },
      el("a", { class: "button", href: "#/" }, "← My work"),
      wo.location ? el("button", { type: "button", class: "button", onclick: () => ctx.actions.showOnMap(wo) },
        "Show on map") : null),
    el("h2", { class: "wo-title" }, wo.title),
    el("p", { class: "address big-text" }, wo.address || ""),
    el("p", { class: "meta" }, el("span", { class: `status status-${wo.status}` },
      optionName(ctx.manifest, "statuses", wo.status)), " ", dueText(wo.due_at, done), ` · P${wo.priority}`,
    wo.pending ? el("span", { class: "badge pending" }, `${wo.pending} not sent`) : null),
    conflictsBox(ctx, wo),
    stepButtons(ctx, wo),
    stepPanel(ctx, wo),
    facts([["Hold", wo.hold_reason ? optionName(ctx.manifest, "hold_reasons", wo.hold_reason) : null],
      ["Resolution", wo.resolution ? optionName(ctx.manifest, "resolutions", wo.resolution) : null],
      ["Started", wo.actual_start ? when(wo.actual_start) : null], ["Finished", wo.actual_end ? when(wo.actual_end) : null],
      ["Service", wo.service?.name], ["Department", wo.department?.name]]),
    wo.instructions ? el("section", { class: "instructions" }, el("h3", {}, "Instructions"), el("p", {}, wo.instructions))
      : null,
    el("section", { class: "site-notes" }, el("h3", {}, "Site notes"),
      el("form", { id: "site-notes-form", onsubmit: (event) => {
        event.preventDefault();
        const text = ctx.drafts[`${wo.id}:site_notes`];
        if (text === undefined || text === wo.site_notes) return ctx.actions.say("No change to save.");
        delete ctx.drafts[`${wo.id}:site_notes`];
        return ctx.actions.edit(wo, { site_notes: text });
      } }, el("textarea", draft(ctx, wo, "site_notes", { rows: 3, name: "site_notes", value: wo.site_notes || "",
        placeholder: "Access, hazards, what the next visit should know" })),
      el("button", { type: "submit", class: "button big" }, "Save site notes"))),
    el("section", {}, el("h3", {}, "Tasks"), el("ul", { class: "tasks" }, wo.tasks.map((t) => taskRow(ctx, wo, t)))),
    done ? null : addForms(ctx, wo),
    el("section", {}, el("h3", {}, "Requests"), wo.requests.map(requestBlock)),
    el("section", { class: "record" }, record(wo)),
    done ? addForms(ctx, wo) : null);
}
