// The residents' report page (/report/): cases near the resident on a map, the spot chosen on it, services
// suggested from their words (Open311 services?q=), cases nearby to follow instead, the chosen service's questions
// (Open311 services/{code}). The form itself is a plain HTML form, posted as it is (it works without this script).
// MapLibre comes from our static files (import map in report.html). Tests read window.fieldsvcReport.
import * as maplibregl from "maplibre-gl";

const container = document.getElementById("map");
const texts = JSON.parse(document.getElementById("texts").textContent);
const locale = container.dataset.locale;
const $ = (id) => document.getElementById(id);
const form = $("report-form");
const select = $("service_code");
const state = { spot: null, centre: [Number(container.dataset.long), Number(container.dataset.lat)], nearby: [] };
window.fieldsvcReport = state;

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { "Accept-Language": locale } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function say(message) {
  $("map-status").textContent = message;
}

// --- The map: neighbourhood outlines for orientation (no basemap: nothing from the internet), cases nearby.
const map = new maplibregl.Map({
  container, center: state.centre, zoom: 16, attributionControl: false,
  style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }] },
});
state.map = map;
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
const marker = new maplibregl.Marker({ color: "#0b4f8a" });

map.on("load", () => {
  // Road segments from the asset registry stand in for a basemap (drawn from zoom 16, where they are lines).
  map.addSource("assets", { type: "vector", url: container.dataset.assetsUrl });
  map.addLayer({ id: "streets", type: "line", source: "assets", "source-layer": "assets", minzoom: 16,
                 filter: ["==", ["get", "type"], "road-segment"],
                 paint: { "line-color": "#d4cdbf", "line-width": ["interpolate", ["linear"], ["zoom"], 16, 5, 19, 24] } });
  map.addSource("neighbourhoods", { type: "vector", url: container.dataset.neighbourhoodsUrl });
  map.addLayer({ id: "neighbourhoods", type: "line", source: "neighbourhoods", "source-layer": "neighbourhoods",
                 paint: { "line-color": "#6c757d", "line-width": 1.5 } });
  map.addSource("nearby", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({ id: "nearby", type: "circle", source: "nearby", paint: {
    "circle-radius": 7, "circle-stroke-width": 2, "circle-stroke-color": "#fff",
    "circle-color": ["match", ["get", "status"], "open", "#b3401a", "#1b6e3a"] } });
  loadNearby(state.centre);
});

async function loadNearby([long, lat]) {
  try {
    const data = await getJSON(`${container.dataset.nearbyUrl}?lat=${lat}&long=${long}&lang=${locale}`);
    state.nearby = data.features;
    map.getSource("nearby")?.setData(data);
    const list = $("nearby-list");
    list.replaceChildren(...data.features.slice(0, 20).map((f) => caseItem(f)));
    $("nearby-count").textContent = data.features.length;
    $("nearby-details").hidden = data.features.length === 0;
  } catch (error) {
    say(String(error.message));
  }
}

function caseItem(feature, extra) {
  const p = feature.properties;
  const item = el("li", {}, el("a", { href: `${p.url}?lang=${locale}`, textContent: `${p.service} — ${p.reference}` }),
    " ", el("span", { className: `badge ${p.status}`, textContent: p.status_text }));
  if (extra) item.append(" ", extra);
  return item;
}

function chooseSpot(lngLat) {
  state.spot = [lngLat.lng, lngLat.lat];
  marker.setLngLat(lngLat).addTo(map);
  $("lat").value = lngLat.lat.toFixed(7);
  $("long").value = lngLat.lng.toFixed(7);
  $("spot").textContent = `${texts.spot_chosen}: ${lngLat.lat.toFixed(5)}, ${lngLat.lng.toFixed(5)}`;
  say(texts.spot_chosen);
  loadNearby(state.spot);
  loadDuplicates();
}

map.on("click", (event) => {
  const [hit] = map.queryRenderedFeatures(event.point, { layers: ["nearby"] });
  if (hit) {
    const p = hit.properties;
    const content = el("div", {}, el("strong", { textContent: p.service }), el("br"),
      el("span", { textContent: `${p.status_text} · ` }), el("a", { href: `${p.url}?lang=${locale}`, textContent: p.reference }));
    new maplibregl.Popup().setLngLat(hit.geometry.coordinates).setDOMContent(content).addTo(map);
    return;
  }
  chooseSpot(event.lngLat);
});
// Keyboard: the map's canvas takes focus; the arrow keys move the map (MapLibre's own), Enter takes its centre.
map.getCanvas().setAttribute("aria-label", `${texts.map_label}. ${texts.map_hint}`);
map.getCanvas().setAttribute("aria-describedby", "map-status");
map.getCanvas().addEventListener("keydown", (event) => {
  if (event.key === "Enter") chooseSpot(map.getCenter());
});
map.on("moveend", (event) => {
  if (event.originalEvent && !state.spot) loadNearby(map.getCenter().toArray());
});

// --- Position: asked only when the resident presses the button (no prompt on arrival).
if ("geolocation" in navigator) {
  $("locate").hidden = false;
  $("locate").addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const here = new maplibregl.LngLat(position.coords.longitude, position.coords.latitude);
        map.jumpTo({ center: here, zoom: 17 });
        chooseSpot(here);
      },
      () => say(texts.locate_failed),
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });
}

// --- An address typed in: places given on earlier reports (the page has no geocoder and no internet).
$("place-search").hidden = false;
$("place-search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const words = $("place").value.trim();
  if (words.length < 3) return;
  const { places } = await getJSON(`${container.dataset.placesUrl}?q=${encodeURIComponent(words)}`);
  const list = $("places");
  if (!places.length) return list.replaceChildren(el("li", { className: "hint", textContent: texts.no_places }));
  list.replaceChildren(...places.map((place) => {
    const pick = el("button", { type: "button", className: "secondary", textContent: place.address });
    pick.addEventListener("click", () => {
      const at = new maplibregl.LngLat(place.lon, place.lat);
      map.jumpTo({ center: at, zoom: 17 });
      $("address_string").value = place.address;
      list.replaceChildren();
      chooseSpot(at);
    });
    return el("li", {}, pick);
  }));
});

// --- Suggestions from the resident's words.
let typing;
$("description").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(suggest, 300);
});

async function suggest() {
  const words = $("description").value.trim();
  const box = $("suggestions");
  if (words.length < 3) return box.replaceChildren();
  const found = await getJSON(`/open311/v2/services.json?locale=${locale}&q=${encodeURIComponent(words.slice(0, 500))}`);
  if (!found.length) return box.replaceChildren(el("p", { className: "hint", textContent: texts.no_suggestions }));
  box.replaceChildren(...found.slice(0, 4).map((service) => {
    const radio = el("input", { type: "radio", name: "suggested", value: service.service_code });
    radio.checked = select.value === service.service_code;
    radio.addEventListener("change", () => {
      select.value = service.service_code;
      serviceChosen();
    });
    return el("label", { className: "choice" }, radio, service.service_name);
  }));
}

select.addEventListener("change", () => {
  for (const radio of document.querySelectorAll("input[name=suggested]")) radio.checked = radio.value === select.value;
  serviceChosen();
});

function serviceChosen() {
  loadQuestions();
  loadDuplicates();
}

// --- The chosen service's questions, in the page's language.
async function loadQuestions() {
  const code = select.value;
  const list = $("question-list");
  if (!code) {
    $("questions").hidden = true;
    return list.replaceChildren();
  }
  const definition = await getJSON(`/open311/v2/services/${encodeURIComponent(code)}.json?locale=${locale}`);
  const asked = definition.attributes.filter((a) => a.variable);
  list.replaceChildren(...definition.attributes.map(question));
  $("questions").hidden = asked.length === 0;
}

function question(a) {
  const text = a.required ? `${a.description} (${texts.required})` : a.description;
  if (!a.variable) return el("p", { className: "note", textContent: a.description });
  if (a.datatype === "singlevaluelist" || a.datatype === "multivaluelist") {
    const multi = a.datatype === "multivaluelist";
    return el("fieldset", {}, el("legend", { textContent: text }), ...a.values.map((v) => el("label", { className: "choice" },
      el("input", { type: multi ? "checkbox" : "radio", name: `attribute[${a.code}]${multi ? "[]" : ""}`, value: v.key,
                    required: a.required && !multi }), v.name)));
  }
  const id = `q-${a.code}`;
  const input = a.datatype === "text" ? el("textarea", { rows: 2 })
    : el("input", { type: { number: "number", datetime: "datetime-local" }[a.datatype] || "text" });
  Object.assign(input, { id, name: `attribute[${a.code}]`, required: a.required });
  if (a.datatype === "number") input.step = "any";
  return el("div", {}, el("label", { htmlFor: id, textContent: text }), input);
}

// --- Cases nearby of this service or a related one: follow one instead of reporting again.
async function loadDuplicates() {
  const section = $("duplicates");
  if (!select.value || !state.spot) return (section.hidden = true);
  const [long, lat] = state.spot;
  const data = await getJSON(`${container.dataset.duplicatesUrl}?service_code=${encodeURIComponent(select.value)}`
    + `&lat=${lat}&long=${long}&lang=${locale}`);
  section.hidden = data.features.length === 0;
  $("duplicate-list").replaceChildren(...data.features.map((feature) => {
    const follow = el("button", { type: "button", className: "secondary", textContent: texts.follow });
    follow.addEventListener("click", () => {
      $("follow-number").value = feature.properties.reference;
      $("follow-box").hidden = false;
      $("follow-email").focus();
    });
    return caseItem(feature, follow);
  }));
}

$("errors")?.focus(); // a form sent back: say what to fix first (keyboard and screen reader users start there)
if (select.value && !$("question-list").children.length) loadQuestions();
if ($("lat").value && $("long").value) {
  map.once("load", () => chooseSpot(new maplibregl.LngLat(Number($("long").value), Number($("lat").value))));
}
// The chosen photo shown small, so the resident sees it is the right one.
$("media").addEventListener("change", () => {
  $("media-preview")?.remove();
  const [file] = $("media").files;
  if (!file || !file.type.startsWith("image/")) return;
  const preview = el("img", { id: "media-preview", className: "preview", alt: file.name, src: URL.createObjectURL(file) });
  $("media").after(preview);
});
form.addEventListener("submit", () => { $("submit").disabled = true; });
window.addEventListener("pageshow", () => { $("submit").disabled = false; });
