// The map of my work: the project's own vector tiles (/tiles/style.json; no basemap from anywhere else, so it
// works offline), my stops numbered in the day's order, the planned route, and where I am.
// Stops are HTML markers, not a symbol layer: the style has no glyphs to draw numbers with, and a marker is a
// big button a gloved finger can hit.
// MapLibre GL JS comes from our static files (the import map in fieldsvc/field.html).
import * as maplibregl from "maplibre-gl";

import { tileRange } from "./geo.js";

const TILE_CAP = 400; // tiles kept offline at most: ~10 MB at worst, a few seconds on 4G
// Stronger than the console's paint: read in sunlight, at arm's length.
const PAINT = {
  neighbourhoods: { "line-color": "#343a40", "line-width": 2 },
  assets: { "circle-color": "#b35900", "circle-radius": 4, "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
  requests: { "circle-color": "#c00000", "circle-radius": 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
};

export class MapView {
  constructor(container, { styleUrl, onStop }) {
    Object.assign(this, { container, styleUrl, onStop, map: null, markers: [], me: null, fitted: false });
    this.errors = [];
  }

  async start() {
    const response = await fetch(this.styleUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`map style: HTTP ${response.status}`);
    this.style = await response.json();
    for (const layer of this.style.layers) {
      if (layer.id === "background") layer.paint = { "background-color": "#ffffff" };
      else Object.assign(layer.paint || {}, PAINT[layer.id] || {});
    }
    this.map = new maplibregl.Map({ container: this.container, style: this.style, attributionControl: false,
      center: this.style.center, zoom: 12, maxZoom: 19 });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl(), "bottom-left");
    this.map.on("error", (event) => this.errors.push(String(event.error?.message || event.error)));
    await new Promise((resolve) => this.map.once("load", resolve));
    this.map.addSource("route", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    this.map.addLayer({ id: "route-casing", type: "line", source: "route",
      paint: { "line-color": "#ffffff", "line-width": 9 } });
    this.map.addLayer({ id: "route", type: "line", source: "route",
      paint: { "line-color": "#0b3d91", "line-width": 5, "line-dasharray": [2, 1] } });
    this.ready = true;
  }

  resize() {
    this.map?.resize();
  }

  // ``stops``: work order views in the day's order; ``plans``: the crew API's plans; ``position``: mine.
  update(stops, plans, position, nextId) {
    if (!this.ready) return;
    for (const marker of this.markers) marker.remove();
    this.markers = [];
    for (const wo of stops) {
      if (!wo.location) continue;
      const done = ["completed", "closed", "cancelled"].includes(wo.status);
      const button = document.createElement("button");
      button.type = "button";
      button.className = `stop-marker${done ? " done" : ""}${wo.id === nextId ? " next" : ""}`;
      button.textContent = done ? "✓" : String(wo.stop);
      button.setAttribute("aria-label", `Stop ${button.textContent}: ${wo.title}`);
      button.dataset.workOrder = wo.id;
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        this.onStop(wo.id);
      });
      this.markers.push(new maplibregl.Marker({ element: button }).setLngLat(wo.location).addTo(this.map));
    }
    const routes = plans.filter((p) => p.route).map((p) => ({ type: "Feature", properties: {}, geometry: p.route }));
    this.map.getSource("route").setData({ type: "FeatureCollection", features: routes });
    this.routeCount = routes.length;
    this.showPosition(position);
    if (!this.fitted) this.fit(stops, position);
  }

  showPosition(position) {
    if (!this.ready || !position) return;
    if (!this.me) {
      const dot = document.createElement("div");
      dot.className = "me-marker";
      dot.setAttribute("aria-label", "You are here");
      this.me = new maplibregl.Marker({ element: dot });
    }
    this.me.setLngLat([position.lon, position.lat]).addTo(this.map);
  }

  fit(stops, position) {
    const points = stops.filter((s) => s.location).map((s) => s.location);
    if (position) points.push([position.lon, position.lat]);
    if (!points.length) return;
    const bounds = points.reduce((b, p) => b.extend(p), new maplibregl.LngLatBounds(points[0], points[0]));
    this.map.fitBounds(bounds, { padding: 60, maxZoom: 17, duration: 0 });
    this.fitted = true;
  }

  focus(location) {
    if (this.ready && location) this.map.easeTo({ center: location, zoom: Math.max(this.map.getZoom(), 16) });
  }
}

// The tiles of the crew's map area to keep offline: every layer of the style at the zooms it has data,
// between the manifest's min and max zoom, the highest zooms dropped first when the count passes the cap.
// Returns {urls, maxZoom, tooBig}.
export async function areaTiles(style, area) {
  if (!area?.bbox) return { urls: [], maxZoom: null, tooBig: false };
  const layers = [];
  for (const source of Object.values(style.sources)) {
    if (!source.url) continue;
    const response = await fetch(source.url, { credentials: "same-origin" });
    if (!response.ok) continue;
    const tilejson = await response.json();
    layers.push({ template: tilejson.tiles[0], minzoom: tilejson.minzoom ?? 0, maxzoom: tilejson.maxzoom ?? 22 });
  }
  const lowest = area.min_zoom ?? 12, highest = area.max_zoom ?? 17;
  const urls = [];
  let maxZoom = null;
  for (let z = lowest; z <= highest; z += 1) {
    const { x0, x1, y0, y1 } = tileRange(area.bbox, z);
    const atZoom = [];
    for (const layer of layers.filter((l) => l.minzoom <= z && z <= l.maxzoom)) {
      for (let x = x0; x <= x1; x += 1) {
        for (let y = y0; y <= y1; y += 1) {
          atZoom.push(layer.template.replace("{z}", z).replace("{x}", x).replace("{y}", y));
        }
      }
    }
    if (urls.length + atZoom.length > TILE_CAP) return { urls, maxZoom, tooBig: true };
    urls.push(...atZoom);
    maxZoom = z;
  }
  return { urls, maxZoom, tooBig: false };
}
