// Photos: the picture's bytes go into IndexedDB the moment it is taken (with the device's UUID for it), show
// in the work order from there, and are uploaded with tus-js-client (resumable, docs/field-api.md) when the
// network is there. The upload's URL is kept with the photo, so after a dropped connection or a restart of the
// app the upload resumes where the server stopped instead of starting again.
// tus-js-client is the UMD build (window.tus), loaded by a classic script before the modules.
import * as store from "./store.js";

export const WAITING = "waiting";
export const UPLOADED = "uploaded";
export const REJECTED = "rejected";

const urls = new Map(); // photo_id -> object URL of the local bytes, made once per page

export async function take(file, { workOrder, label, position, maxBytes }) {
  const blob = maxBytes && file.size > maxBytes ? await shrink(file) : file;
  const photo = {
    photo_id: crypto.randomUUID(), work_order: workOrder, blob, filename: file.name || "photo.jpg",
    filetype: blob.type || file.type || "image/jpeg", taken_at: new Date().toISOString(),
    lon: position?.lon, lat: position?.lat, state: WAITING, upload_url: null, server_id: null, label,
  };
  await store.put("photos", photo);
  return photo;
}

// A camera picture over the server's limit is sent as a smaller JPEG rather than refused.
async function shrink(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 2560 / Math.max(bitmap.width, bitmap.height));
  const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 });
}

export function localUrl(photo) {
  if (!urls.has(photo.photo_id)) urls.set(photo.photo_id, URL.createObjectURL(photo.blob));
  return urls.get(photo.photo_id);
}

export const list = () => store.all("photos");

export async function forget(photo) {
  if (urls.has(photo.photo_id)) URL.revokeObjectURL(urls.get(photo.photo_id));
  urls.delete(photo.photo_id);
  await store.remove("photos", photo.photo_id);
}

function csrfToken() {
  return document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.slice("csrftoken=".length) || "";
}

// Upload one photo; resolves true when the server has all of it, false when it should be tried later, and
// marks the photo rejected when the server refused it for good (a 4xx other than a lost upload).
export function upload(photo, endpoint) {
  return new Promise((resolve) => {
    const metadata = { photo_id: photo.photo_id, work_order: String(photo.work_order), filename: photo.filename,
      filetype: photo.filetype, taken_at: photo.taken_at };
    if (photo.lon !== undefined && photo.lon !== null) Object.assign(metadata, { lon: String(photo.lon),
      lat: String(photo.lat) });
    const task = new window.tus.Upload(photo.blob, {
      endpoint, metadata, uploadUrl: photo.upload_url || undefined,
      headers: { "X-CSRFToken": csrfToken() },
      chunkSize: 1024 * 1024, // the contract's piece size: a dropped connection loses at most this much
      retryDelays: [0, 1000, 3000], // then the sync loop's own backoff takes over
      storeFingerprintForResuming: false, // the URL is kept with the photo in IndexedDB instead
      removeFingerprintOnSuccess: true,
      onUploadUrlAvailable: async () => {
        photo.upload_url = task.url;
        await store.put("photos", photo);
      },
      onSuccess: async (payload) => {
        photo.state = UPLOADED;
        photo.server_id = payload?.lastResponse?.getHeader("Fieldsvc-Photo-Id") || photo.photo_id;
        await store.put("photos", photo);
        resolve(true);
      },
      onError: async (error) => {
        const status = error?.originalResponse?.getStatus?.() || 0;
        let body = {};
        try {
          body = JSON.parse(error.originalResponse.getBody() || "{}");
        } catch {
          body = {};
        }
        // Refused for good: not an image, too large, the work order gone. A lost or expired upload (404
        // not_found, 410) starts again; offset_mismatch (409), busy or throttled ones are tried again.
        const lost = (status === 404 && body.code !== "work_order_not_found") || status === 410;
        if (status >= 400 && status < 500 && !lost && ![408, 409, 423, 429].includes(status)) {
          photo.state = REJECTED;
          photo.error = `${body.detail || `HTTP ${status}`}${body.code ? ` (${body.code})` : ""}`;
          await store.put("photos", photo);
        } else if (lost) {
          photo.upload_url = null; // expired on the server: start again next time
          await store.put("photos", photo);
        }
        resolve(false);
      },
    });
    task.start();
  });
}

export async function retry(photo) {
  Object.assign(photo, { state: WAITING, error: null, upload_url: null });
  await store.put("photos", photo);
}
