// The statistics page (/stats/): charts (Chart.js, a UMD file that sets window.Chart) and a choropleth
// (MapLibre GL JS, neighbourhoods from the GeoJSON download) drawn from the same /api/stats/ URLs the page's
// download links name. The tables beside them are rendered by the server, so the numbers read without JS.
// Both libraries come from our static files (copied from node_modules by scripts/stack.sh): nothing from the
// internet. Tests read window.fieldsvcStats (the data each chart was drawn from), its `ready` promise and `done`.
import * as maplibregl from "maplibre-gl";

const root = document.getElementById("stats");
const errorBox = document.getElementById("stats-errors");
const Chart = window.Chart;
const state = { charts: {}, data: {}, errors: [] };
window.fieldsvcStats = state;

const BLUE = "#0b5cad";
const ORANGE = "#d9480f";
// Sequential blues (ColorBrewer Blues, 5 classes) for the rate; grey: no population figure.
const RAMP = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
const NO_DATA = "#c8c8c8";

function showError(message) {
  state.errors.push(message);
  errorBox.hidden = false;
  errorBox.textContent = state.errors.join("\n");
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });  // Accept */*: the format parameter decides
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function barChart(id, rows, { label, value, max, horizontal = true, colour = BLUE, title }) {
  const canvas = document.getElementById(id);
  if (horizontal) canvas.parentElement.style.height = `${Math.max(260, 22 * rows.length + 60)}px`;
  return new Chart(canvas, {
    type: "bar",
    data: { labels: rows.map(label), datasets: [{ label: title, data: rows.map(value), backgroundColor: colour, maxBarThickness: 36 }] },
    options: {
      indexAxis: horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false }, title: { display: true, text: title } },
      scales: horizontal ? { x: { min: 0, max } } : { y: { min: 0, ticks: { precision: 0 } } },
    },
  });
}

function drawTrends(body) {
  state.data.trends = body.rows;
  state.charts.trends = new Chart(document.getElementById("chart-trends"), {
    type: "line",
    data: {
      labels: body.rows.map((r) => r.period),
      datasets: [
        { label: "Opened", data: body.rows.map((r) => r.opened), borderColor: BLUE, backgroundColor: BLUE },
        { label: "Closed", data: body.rows.map((r) => r.closed), borderColor: ORANGE, backgroundColor: ORANGE },
      ],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { min: 0, ticks: { precision: 0 } } },
               plugins: { title: { display: true, text: `Requests per ${body.interval}` } } },
  });
}

const CHART_ROWS = 25;  // bars past this many are unreadable; the table beside the chart has them all

function drawSla(key, id, body) {
  const measured = body.rows.filter((r) => r.percent_on_time !== null);  // most closed first
  const rows = measured.slice(0, CHART_ROWS);
  const more = measured.length > rows.length ? ` (the ${rows.length} with most closed)` : "";
  state.data[key] = rows;
  state.charts[key] = barChart(id, rows, {
    label: (r) => r.label, value: (r) => r.percent_on_time, max: 100, title: `% closed within the target time${more}`,
  });
}

function drawTimeToClose(body) {
  const all = body.rows[0];
  state.data.timeToClose = body.bins.map((b) => ({ label: b.label, count: all[b.column] }));
  state.charts.timeToClose = barChart("chart-time-to-close", state.data.timeToClose, {
    label: (r) => r.label, value: (r) => r.count, horizontal: false, title: "Closed requests by time to close",
  });
}

function classBreaks(values) {
  // Quantile breaks over the neighbourhoods with a rate, each colour covering about as many of them; a break
  // starts a class (MapLibre's "step"), so none at the lowest value, where the palest class begins.
  const sorted = [...values].sort((a, b) => a - b);
  const breaks = [];
  for (let i = 1; i < RAMP.length; i += 1) breaks.push(sorted[Math.floor((i * sorted.length) / RAMP.length)]);
  return [...new Set(breaks)].filter((b) => b > sorted[0]);
}

function drawMap(geojson) {
  state.data.neighbourhoods = geojson.features.map((f) => f.properties);
  if (geojson.features.length === 0) {  // no districts loaded: nothing to fit the map to
    document.getElementById("map").textContent = "No neighbourhoods are loaded.";
    return Promise.resolve();
  }
  const rates = geojson.features.map((f) => f.properties.per_1000).filter((v) => v !== null);
  const breaks = classBreaks(rates);
  const step = ["step", ["get", "per_1000"], RAMP[0]];
  breaks.forEach((b, i) => step.push(b, RAMP[i + 1]));
  // A "step" needs a stop: with every rate equal there is one class.
  const fill = ["case", ["==", ["get", "per_1000"], null], NO_DATA, breaks.length ? step : RAMP[0]];
  const bounds = new maplibregl.LngLatBounds();
  for (const feature of geojson.features) {
    const rings = feature.geometry.type === "Polygon" ? [feature.geometry.coordinates] : feature.geometry.coordinates;
    for (const polygon of rings) for (const [lon, lat] of polygon[0]) bounds.extend([lon, lat]);
  }
  const map = new maplibregl.Map({
    container: "map", bounds, fitBoundsOptions: { padding: 10 }, attributionControl: false,
    style: { version: 8, sources: { neighbourhoods: { type: "geojson", data: geojson } }, layers: [
      { id: "background", type: "background", paint: { "background-color": "#dfe6ee" } },
      { id: "rate", type: "fill", source: "neighbourhoods", paint: { "fill-color": fill, "fill-opacity": 0.85 } },
      { id: "outline", type: "line", source: "neighbourhoods", paint: { "line-color": "#334", "line-width": 0.7 } },
    ] },
  });
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.on("error", (event) => showError(`map: ${event.error?.message || event}`));
  map.on("click", "rate", (event) => {
    const p = event.features[0].properties;
    const rate = p.per_1000 === undefined || p.per_1000 === null ? "no population figure" : `${p.per_1000} per 1,000`;
    new maplibregl.Popup().setLngLat(event.lngLat)
      .setText(`${p.name}${p.city ? ` (${p.city})` : ""}: ${p.requests} requests, ${rate}`).addTo(map);
  });
  map.on("mouseenter", "rate", () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", "rate", () => { map.getCanvas().style.cursor = ""; });
  const legend = document.getElementById("map-legend");
  const edges = [rates.length ? Math.min(...rates) : 0, ...breaks, rates.length ? Math.max(...rates) : 0];
  RAMP.slice(0, breaks.length + 1).forEach((colour, i) => {
    const item = document.createElement("span");
    const upto = i === breaks.length ? `${edges[i + 1]}` : `under ${edges[i + 1]}`;
    item.innerHTML = `<span class="swatch" style="background:${colour}"></span>${edges[i]} to ${upto} per 1,000`;
    legend.append(item);
  });
  legend.insertAdjacentHTML("beforeend", `<span><span class="swatch" style="background:${NO_DATA}"></span>no population</span>`);
  // Drawn, or failed (the error is shown): either way the page is done with the map.
  return new Promise((resolve) => { map.once("idle", resolve); map.once("error", resolve); });
}

async function main() {
  const api = root.dataset;
  const jobs = [
    getJSON(api.trends).then(drawTrends),
    getJSON(api.slaService).then((body) => drawSla("slaService", "chart-sla-service", body)),
    getJSON(api.slaDepartment).then((body) => drawSla("slaDepartment", "chart-sla-department", body)),
    getJSON(api.timeToClose).then(drawTimeToClose),
    getJSON(`${api.neighbourhoods}&format=geojson`).then(drawMap),
  ];
  const results = await Promise.allSettled(jobs);
  for (const result of results) if (result.status === "rejected") showError(String(result.reason));
}

state.ready = main().finally(() => { state.done = true; });
