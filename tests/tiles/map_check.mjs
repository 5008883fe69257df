// Opens the map page in Debian's headless Chromium (puppeteer-core, no downloaded browser), waits for the map
// to be idle and prints what a test needs as JSON: the style's layers, features rendered per layer, map and
// page errors, every URL requested (but data: and blob:), the legend, the popups of clicks at places and a pixel
// count of the screenshot.
// Usage: node map_check.mjs '{"url": ..., "screenshot": ..., "cookies": [...], "clicks": [[lon, lat], ...],
//                             "colours": {"assets": "#ff7f00", ...}, "background": "#f8f9fa", "popupScreenshot": ...}'
import puppeteer from "puppeteer-core";

const spec = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({
  executablePath: process.env.FIELDSVC_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", // CI runs as root
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader", // WebGL on the CPU: no GPU on CI
    // As if offline: every host but the test server fails to resolve, and no proxy is asked.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${new URL(spec.url).hostname}`, "--no-proxy-server",
  ],
});
const result = { requests: [], pageErrors: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1024, height: 768 });
  const domain = new URL(spec.url).hostname;
  if (spec.cookies?.length) await browser.setCookie(...spec.cookies.map((c) => ({ ...c, domain, path: "/" })));
  page.on("request", (request) => /^(data|blob):/.test(request.url()) || result.requests.push(request.url()));
  page.on("requestfailed", (request) => result.pageErrors.push(`failed: ${request.url()}`));
  page.on("response", (response) => response.status() >= 400
    && result.pageErrors.push(`HTTP ${response.status()}: ${response.url()}`));
  page.on("pageerror", (error) => result.pageErrors.push(`page: ${error.message}`));
  page.on("console", (message) => message.type() === "error" && result.pageErrors.push(`console: ${message.text()}`));

  await page.goto(spec.url, { waitUntil: "load", timeout: 15000 });
  await page.waitForFunction(() => window.fieldsvcMap?.loaded() || window.fieldsvcMapErrors?.length,
    { timeout: 15000 });
  // Everything loaded, one more frame, MapLibre's 'idle', and still loaded: nothing left to fetch or draw (the
  // page itself may move the map on its first 'idle').
  Object.assign(result, await page.evaluate(async () => {
    const map = window.fieldsvcMap;
    if (!map) return { errors: window.fieldsvcMapErrors };
    const settled = () => map.loaded() && map.areTilesLoaded() && !map.isMoving();
    do {
      await new Promise((resolve) => {
        const check = () => (settled() ? resolve() : setTimeout(check, 50));
        check();
      });
      await new Promise((resolve) => { map.once("idle", resolve); map.triggerRepaint(); });
    } while (!settled());
    const layers = map.getStyle().layers.map((layer) => layer.id);
    const rendered = Object.fromEntries(layers.filter((id) => id !== "background")
      .map((id) => [id, map.queryRenderedFeatures({ layers: [id] }).length]));
    const legend = [...document.querySelectorAll("#legend-layers li")].map((item) => item.dataset.layer);
    // Where the page draws over the map (legend, controls): left out of the pixel count.
    const covered = [...document.querySelectorAll("#legend, .maplibregl-ctrl, #map-errors:not([hidden])")]
      .map((element) => element.getBoundingClientRect().toJSON());
    const view = { zoom: map.getZoom(), bounds: map.getBounds().toArray() };
    return { layers, rendered, legend, covered, view, errors: window.fieldsvcMapErrors };
  }));

  if (spec.screenshot) {
    const png = await page.screenshot({ path: spec.screenshot, type: "png" });
    result.pixels = await page.evaluate(countPixels, Buffer.from(png).toString("base64"), spec.colours || {},
      spec.background || "#ffffff", result.covered || []);
  }
  result.popups = [];
  for (const lonLat of result.layers ? spec.clicks || [] : []) {
    const [x, y] = await page.evaluate((at) => {
      document.querySelectorAll(".maplibregl-popup").forEach((popup) => popup.remove());
      const point = window.fieldsvcMap.project(at);
      return [point.x, point.y];
    }, lonLat);
    await page.mouse.click(x, y);
    const popup = await page.waitForSelector(".maplibregl-popup-content", { timeout: 5000 }).catch(() => null);
    result.popups.push(popup && (await popup.evaluate((element) => element.innerText)));
  }
  if (spec.popupScreenshot) await page.screenshot({ path: spec.popupScreenshot, type: "png" });
} catch (error) {
  result.failure = String(error?.stack || error);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));

// In the page: the screenshot decoded on a 2D canvas; its pixels outside what covers the map counted: the
// background's, and the others by the layer colour they are nearest to (anti-aliased edges are blends).
async function countPixels(base64, colours, background, covered) {
  const image = new Image();
  image.src = `data:image/png;base64,${base64}`;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, 0, image.width, image.height);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const distance = (r, g, b, [cr, cg, cb]) => (r - cr) ** 2 + (g - cg) ** 2 + (b - cb) ** 2;
  const bg = rgb(background);
  const targets = Object.entries(colours).map(([name, hex]) => [name, rgb(hex)]);
  const counts = { map: 0, background: 0, other: 0, near: Object.fromEntries(targets.map(([name]) => [name, 0])) };
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (covered.some((c) => x >= c.left && x < c.right && y >= c.top && y < c.bottom)) continue;
      const i = (y * image.width + x) * 4;
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      counts.map += 1;
      if (r === bg[0] && g === bg[1] && b === bg[2]) { counts.background += 1; continue; }
      counts.other += 1;
      // The colour it is nearest to, the background included: an edge pixel more line than background counts.
      let [nearest, best] = [null, distance(r, g, b, bg)];
      for (const [name, target] of targets) {
        const d = distance(r, g, b, target);
        if (d < best) [nearest, best] = [name, d];
      }
      if (nearest) counts.near[nearest] += 1;
    }
  }
  return counts;
}
