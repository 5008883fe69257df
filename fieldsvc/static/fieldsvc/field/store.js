// The tablet's own copy of everything, in IndexedDB: the work order documents as the server last sent them,
// the outbox of edits not yet accepted, photos waiting to upload (their bytes), and small settings (the feed
// cursor, the manifest, the plan, the device id). One database per user, so a colleague signing in on the same
// tablet neither sees nor sends another's queued work.

const STORES = {
  docs: { keyPath: "id" }, // work order documents, as the server sent them (never edited locally)
  outbox: { keyPath: "seq", autoIncrement: true }, // {seq, mutation, state, result, label}, sent in seq order
  photos: { keyPath: "photo_id" }, // {photo_id, work_order, blob, filename, filetype, taken_at, lon, lat, ...}
  meta: {}, // out-of-line keys: "cursor", "manifest", "plans", "lastSync", "deviceId", "notices"
};

let db = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function open(userId) {
  const request = indexedDB.open(`fieldsvc-field-${userId}`, 1);
  request.onupgradeneeded = () => {
    for (const [name, options] of Object.entries(STORES)) {
      if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name, options);
    }
  };
  db = await promised(request);
  return db;
}

// One transaction over ``names``; ``work`` gets the stores by name. Resolves when the transaction has
// committed, so a caller that awaits it knows the data survives a crash or a reload.
export function transact(names, mode, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve(work(stores)).then((value) => { result = value; }, (error) => { tx.abort(); reject(error); });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export const all = (name) => transact([name], "readonly", (s) => promised(s[name].getAll()));
export const get = (name, key) => transact([name], "readonly", (s) => promised(s[name].get(key)));
export const put = (name, value, key) => transact([name], "readwrite", (s) => promised(
  key === undefined ? s[name].put(value) : s[name].put(value, key)));
export const remove = (name, key) => transact([name], "readwrite", (s) => promised(s[name].delete(key)));

// Replace every document at once (a fresh download): documents not in ``docs`` are gone from the tablet.
export const replaceDocs = (docs, cursor) => transact(["docs", "meta"], "readwrite", (s) => {
  s.docs.clear();
  for (const doc of docs) s.docs.put(doc);
  s.meta.put(cursor, "cursor");
});

// A page of the change feed, applied with its cursor in one transaction: a crash never leaves the cursor
// ahead of the documents it vouches for.
export const applyChanges = (upserts, deletes, cursor) => transact(["docs", "meta"], "readwrite", (s) => {
  for (const doc of upserts) s.docs.put(doc);
  for (const id of deletes) s.docs.delete(id);
  s.meta.put(cursor, "cursor");
});
