// IndexedDB, reduced to what the app needs: a few key-value stores with promises.
// One database, one object store per kind of data (Pinafore's design): "session"
// (tokens and logins in progress), "cache" (the last answers seen, shown at once),
// "outbox" (actions waiting for the network). Used by the pages and the service worker.

const NAME = "fync-app";
const VERSION = 1;
export const STORES = ["session", "cache", "outbox"];
let opening = null;

function open() {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      for (const name of STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => {
      // Another tab upgrading, or the data being deleted: let go, reopen on next use.
      req.result.onversionchange = () => { req.result.close(); opening = null; };
      resolve(req.result);
    };
    req.onerror = () => { opening = null; reject(req.error); };
  });
  return opening;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const req = work(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(req?.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

// → {get, put, delete, keys, clear}: the interface auth.js and outbox.js are written against.
export function idbStore(storeName) {
  return {
    get: (key) => run(storeName, "readonly", (s) => s.get(key)),
    put: (key, value) => run(storeName, "readwrite", (s) => s.put(value, key)).then(() => undefined),
    delete: (key) => run(storeName, "readwrite", (s) => s.delete(key)).then(() => undefined),
    keys: () => run(storeName, "readonly", (s) => s.getAllKeys()),
    clear: () => run(storeName, "readwrite", (s) => s.clear()).then(() => undefined),
  };
}
