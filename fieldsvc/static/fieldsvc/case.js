// The case page's small map: where the case is, over neighbourhood outlines (no basemap: works offline).
import * as maplibregl from "maplibre-gl";

const container = document.getElementById("case-map");
const at = [Number(container.dataset.long), Number(container.dataset.lat)];
const map = new maplibregl.Map({
  container, center: at, zoom: 16, attributionControl: false, cooperativeGestures: true,
  style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }] },
});
window.fieldsvcCaseMap = map;
map.on("load", () => {
  // Road segments from the asset registry stand in for a basemap (drawn from zoom 16, where they are lines).
  map.addSource("assets", { type: "vector", url: container.dataset.assetsUrl });
  map.addLayer({ id: "streets", type: "line", source: "assets", "source-layer": "assets", minzoom: 16,
                 filter: ["==", ["get", "type"], "road-segment"],
                 paint: { "line-color": "#d4cdbf", "line-width": ["interpolate", ["linear"], ["zoom"], 16, 5, 19, 24] } });
  map.addSource("neighbourhoods", { type: "vector", url: container.dataset.neighbourhoodsUrl });
  map.addLayer({ id: "neighbourhoods", type: "line", source: "neighbourhoods", "source-layer": "neighbourhoods",
                 paint: { "line-color": "#6c757d", "line-width": 1.5 } });
});
new maplibregl.Marker({ color: container.dataset.status === "open" ? "#b3401a" : "#1b6e3a" }).setLngLat(at).addTo(map);
