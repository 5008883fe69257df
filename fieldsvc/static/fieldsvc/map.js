// The map page (/map/): the layers the caller may see (/tiles/style.json, no basemap), fitted to the storage
// area then to the neighbourhoods (or at #zoom/lat/lon), with a layer list, a clicked feature's properties in
// a popup, and map errors shown on the page.
// MapLibre GL JS is served from our static files (see the import map in fieldsvc/map.html): nothing from
// the internet. Tests read window.fieldsvcMap and window.fieldsvcMapErrors.
import * as maplibregl from "maplibre-gl";

const container = document.getElementById("map");
const legend = document.getElementById("legend-layers");
const errorBox = document.getElementById("map-errors");
const errors = [];
window.fieldsvcMapErrors = errors;

function showError(message) {
  errors.push(message);
  errorBox.hidden = false;
  const earlier = errors.length > 5 ? [`(${errors.length - 5} earlier errors not shown)`] : [];
  errorBox.textContent = [...earlier, ...errors.slice(-5)].join("\n");
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function label(layerId) {
  const words = layerId.replaceAll("_", " ");
  return words[0].toUpperCase() + words.slice(1);
}

function colour(layer) {
  const paint = layer.paint || {};
  return paint["circle-color"] || paint["line-color"] || paint["fill-color"] || "#999";
}

function buildLegend(map) {
  for (const layer of map.getStyle().layers) {
    if (layer.type === "background") continue;
    const item = document.createElement("li");
    item.dataset.layer = layer.id;
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = true;
    toggle.addEventListener("change", () => {
      map.setLayoutProperty(layer.id, "visibility", toggle.checked ? "visible" : "none");
    });
    const swatch = document.createElement("span");
    swatch.className = `swatch ${layer.type}`;
    swatch.style.background = colour(layer);
    const zoom = document.createElement("span");
    zoom.className = "zoom";
    const text = document.createElement("label");
    text.append(toggle, swatch, label(layer.id), zoom);
    item.append(text);
    legend.append(item);
  }
  refreshLegend(map);
}

// A layer's source knows its zoom range once its TileJSON has loaded; below it the entry is greyed.
function refreshLegend(map) {
  for (const item of legend.children) {
    const source = map.getSource(map.getLayer(item.dataset.layer)?.source);
    const minzoom = source?.minzoom || 0;
    item.querySelector(".zoom").textContent = minzoom > 0 ? `zoom ≥ ${minzoom}` : "";
    item.classList.toggle("out-of-zoom", map.getZoom() < minzoom);
  }
}

function featuresAt(map, point, pixels = 4) {
  return map.queryRenderedFeatures([[point.x - pixels, point.y - pixels], [point.x + pixels, point.y + pixels]]);
}

function showProperties(map, event) {
  const features = featuresAt(map, event.point);
  if (!features.length) return;
  const content = document.createElement("div");
  content.className = "feature-properties";
  for (const feature of features.slice(0, 5)) {
    const heading = document.createElement("h2");
    heading.textContent = label(feature.layer.id);
    const table = document.createElement("table");
    for (const [name, value] of Object.entries(feature.properties)) {
      const row = table.insertRow();
      const key = document.createElement("th");
      key.textContent = name;
      row.append(key);
      row.insertCell().textContent = String(value); // text, never HTML: names come from imported files
    }
    content.append(heading, table);
  }
  if (features.length > 5) {
    const more = document.createElement("p");
    more.textContent = `and ${features.length - 5} more`;
    content.append(more);
  }
  new maplibregl.Popup({ maxWidth: "20rem" }).setLngLat(event.lngLat).setDOMContent(content).addTo(map);
}

// The storage area is a whole state plane zone: once its neighbourhoods are drawn, show just them (the city).
function fitToNeighbourhoods(map) {
  if (!map.getSource("neighbourhoods")) return;
  const bounds = new maplibregl.LngLatBounds();
  const extend = (coordinates) => (typeof coordinates[0] === "number" ? bounds.extend(coordinates)
    : coordinates.forEach(extend));
  for (const feature of map.querySourceFeatures("neighbourhoods", { sourceLayer: "neighbourhoods" })) {
    extend(feature.geometry.coordinates);
  }
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, duration: 0 });
}

async function start() {
  const style = await getJSON(container.dataset.styleUrl);
  // Every layer's TileJSON gives the same bounds, the storage CRS's area: the first one is enough.
  const [first] = Object.values(style.sources);
  const bounds = first ? (await getJSON(first.url)).bounds : undefined;
  // hash: a #zoom/lat/lon in the address wins over the bounds, so a view can be shared (and tested).
  const shared = /^#[\d.]+\//.test(window.location.hash);
  const map = new maplibregl.Map({ container, style, bounds, hash: true, fitBoundsOptions: { padding: 20 } });
  window.fieldsvcMap = map;
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  map.on("error", (event) => showError(`Map error: ${event.error?.message || event.error || "unknown"}`));
  map.on("load", () => buildLegend(map));
  if (!shared) map.once("idle", () => fitToNeighbourhoods(map));
  map.on("zoomend", () => refreshLegend(map));
  map.on("sourcedata", (event) => event.sourceDataType === "metadata" && refreshLegend(map));
  map.on("click", (event) => showProperties(map, event));
  map.on("mousemove", (event) => {
    map.getCanvas().style.cursor = featuresAt(map, event.point).length ? "pointer" : "";
  });
}

start().catch((error) => showError(`The map could not start: ${error.message}`));
