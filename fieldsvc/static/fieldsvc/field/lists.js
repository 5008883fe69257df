// The list screens: my work (the next stop first, then every work order as a big card) and the outbox
// ("Pending updates": every edit not yet accepted, the refused ones with the server's reason and a choice).
import * as outbox from "./outbox.js";
import * as photos from "./photos.js";
import { bearingDeg, compass, distanceM, distanceText, geoUri } from "./geo.js";
import { dueText, el, optionName, when } from "./ui.js";

const statusChip = (ctx, status) => el("span", { class: `status status-${status}` },
  optionName(ctx.manifest, "statuses", status));

export function nextStop(views) {
  return views.find((v) => !outbox.DONE.has(v.status) && v.status !== "on_hold") || null;
}

function nextStopCard(ctx, wo) {
  if (!wo) return el("section", { class: "next-stop empty" }, el("h2", {}, "Next stop"), el("p", {}, "Nothing left to do."));
  let where = el("p", { class: "where muted" }, "Your position is not known: allow location to see the distance.");
  if (ctx.position && wo.location) {
    const here = [ctx.position.lon, ctx.position.lat];
    const metres = distanceM(here, wo.location);
    const bearing = bearingDeg(here, wo.location);
    where = el("p", { class: "where" }, el("strong", { class: "distance" }, distanceText(metres)), " ",
      el("span", { class: "bearing" }, `${compass(bearing)} (${Math.round(bearing)}°)`));
  }
  return el("section", { class: "next-stop", "data-work-order": wo.id, "aria-label": "Next stop" },
    el("h2", {}, `Next stop · stop ${wo.stop}`),
    el("p", { class: "title" }, wo.title),
    el("p", { class: "address" }, wo.address || ""),
    where,
    el("div", { class: "actions" },
      wo.location ? el("a", { class: "button primary big", id: "navigate", href: geoUri(wo.location, wo.title) },
        "Navigate") : null,
      el("a", { class: "button big", href: `#/wo/${wo.id}` }, "Open")));
}

function card(ctx, wo) {
  const done = outbox.DONE.has(wo.status);
  const badges = [];
  if (wo.conflicts.length) badges.push(el("span", { class: "badge conflict" }, "⚠ conflict"));
  if (wo.attention) badges.push(el("span", { class: "badge attention" }, `${wo.attention} need attention`));
  if (wo.pending) badges.push(el("span", { class: "badge pending" }, `${wo.pending} not sent`));
  const late = !done && wo.due_at && Date.parse(wo.due_at) < Date.now();
  return el("li", {}, el("a", { class: `card${done ? " done" : ""}`, href: `#/wo/${wo.id}`, "data-work-order": wo.id,
    "data-status": wo.status },
  el("span", { class: "seq", "aria-hidden": "true" }, done ? "✓" : String(wo.stop)),
  el("span", { class: "body" },
    el("span", { class: "title" }, wo.title),
    el("span", { class: "address" }, wo.address || ""),
    el("span", { class: "meta" }, statusChip(ctx, wo.status), " ",
      el("span", { class: late ? "due late" : "due" }, dueText(wo.due_at, done)), " ", ...badges))));
}

export function listScreen(ctx, views) {
  const open = views.filter((v) => !outbox.DONE.has(v.status));
  return el("div", { class: "screen list-screen" },
    nextStopCard(ctx, nextStop(views)),
    el("h2", { class: "section-title" }, `My work · ${open.length} open`),
    views.length ? el("ul", { class: "cards", id: "work-orders" }, views.map((v) => card(ctx, v)))
      : el("p", { class: "muted" }, ctx.loaded ? "No work assigned to your crew." : "Loading your work…"));
}

function outboxRow(ctx, item) {
  const m = item.mutation;
  const rejected = item.state === outbox.REJECTED;
  return el("li", { class: `outbox-item${rejected ? " rejected" : ""}`, "data-mutation": m.id, "data-state": item.state },
    el("p", { class: "what" }, el("strong", {}, ctx.titleOf(m.work_order, item.label)), " — ",
      outbox.describe(m, { status: (s) => optionName(ctx.manifest, "statuses", s) })),
    el("p", { class: "muted" }, `made ${when(m.occurred_at)}`, item.sending ? " · sending…" : ""),
    rejected ? el("p", { class: "reason", role: "alert" }, `Not accepted: ${item.result?.detail || item.result?.code}`,
      item.result?.code ? ` (${item.result.code})` : "") : null,
    rejected ? el("div", { class: "actions" },
      el("button", { type: "button", class: "button", onclick: () => ctx.actions.retry(item) }, "Send again"),
      el("button", { type: "button", class: "button danger", onclick: () => ctx.actions.discard(item) },
        ctx.confirming === item.seq ? "Really discard?" : "Discard"))
      : null);
}

function photoRow(ctx, photo) {
  const rejected = photo.state === photos.REJECTED;
  return el("li", { class: `outbox-item${rejected ? " rejected" : ""}`, "data-photo": photo.photo_id,
    "data-state": photo.state },
  el("p", { class: "what" }, el("strong", {}, ctx.titleOf(photo.work_order, photo.label)), " — Photo ",
    el("img", { class: "thumb", src: photos.localUrl(photo), alt: "" })),
  el("p", { class: "muted" }, `taken ${when(photo.taken_at)}`),
  rejected ? el("p", { class: "reason", role: "alert" }, `Not accepted: ${photo.error}`) : null,
  rejected ? el("div", { class: "actions" },
    el("button", { type: "button", class: "button", onclick: () => ctx.actions.retryPhoto(photo) }, "Send again"),
    el("button", { type: "button", class: "button danger", onclick: () => ctx.actions.discardPhoto(photo) },
      ctx.confirming === photo.photo_id ? "Really discard?" : "Discard")) : null);
}

export function outboxScreen(ctx) {
  const items = ctx.data.outbox;
  const waitingPhotos = ctx.data.photos.filter((p) => p.state !== photos.UPLOADED);
  const rows = [...items.map((i) => outboxRow(ctx, i)), ...waitingPhotos.map((p) => photoRow(ctx, p))];
  return el("div", { class: "screen outbox-screen" },
    el("p", {}, el("a", { class: "button", href: "#/" }, "← My work")),
    el("h2", { class: "section-title" }, "Pending updates"),
    el("p", { class: "muted" }, "Every change made on this tablet stays here until the server has it. "
      + "Changes the server did not accept stay with its reason until you send them again or discard them."),
    rows.length ? el("ul", { class: "outbox", id: "outbox" }, rows) : el("p", { class: "all-sent" },
      "Nothing waiting: every change is on the server."));
}
