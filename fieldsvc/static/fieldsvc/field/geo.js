// Small geography for the "next stop" card: great-circle distance and initial bearing between two lon/lat
// points (the haversine formula; at a city's scale its error is far below a GPS fix's), the compass word, and
// the geo: URI (RFC 5870) that hands the stop to the tablet's navigation app.

const EARTH_RADIUS_M = 6371008.8; // mean radius (IUGG)
const rad = (degrees) => (degrees * Math.PI) / 180;

export function distanceM([lon1, lat1], [lon2, lat2]) {
  const dLat = rad(lat2 - lat1), dLon = rad(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

export function bearingDeg([lon1, lat1], [lon2, lat2]) {
  const y = Math.sin(rad(lon2 - lon1)) * Math.cos(rad(lat2));
  const x = Math.cos(rad(lat1)) * Math.sin(rad(lat2)) - Math.sin(rad(lat1)) * Math.cos(rad(lat2))
    * Math.cos(rad(lon2 - lon1));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}

const COMPASS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
export const compass = (degrees) => COMPASS[Math.round(degrees / 45) % 8];

export function distanceText(metres) {
  if (metres < 1000) return `${Math.round(metres / 10) * 10} m`;
  return `${(metres / 1000).toFixed(metres < 10000 ? 1 : 0)} km`;
}

// geo:lat,lon?q=lat,lon(label): Android's navigation apps open on the point with the label shown.
export function geoUri([lon, lat], label) {
  const point = `${lat.toFixed(6)},${lon.toFixed(6)}`;
  const name = encodeURIComponent(String(label || "").replace(/[()]/g, " ").trim());
  return `geo:${point}?q=${point}(${name})`;
}

// The slippy-map tiles (x, y) covering a lon/lat box at zoom z.
export function tileRange([west, south, east, north], z) {
  const n = 2 ** z;
  const x = (lon) => Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n)));
  const y = (lat) => {
    const r = rad(Math.max(-85.0511, Math.min(85.0511, lat)));
    return Math.min(n - 1, Math.max(0, Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)));
  };
  return { x0: x(west), x1: x(east), y0: y(north), y1: y(south) };
}
