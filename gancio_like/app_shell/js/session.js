// The app's one account on this device, wired for a page or the service worker: the
// stores, the login (auth.js), API calls with its tokens, and the outbox (outbox.js).

import { createAuth, LoggedOut, NetworkError } from "./auth.js";
import { idbStore } from "./idb.js";
import { localLocks } from "./locks.js";
import { createOutbox } from "./outbox.js";

export { LoggedOut, NetworkError };
export const IMAGES_CACHE = "fync-images";  // avatars and QR codes, kept by the service worker
export const stores = { session: idbStore("session"), cache: idbStore("cache"), outbox: idbStore("outbox") };
export const channel = new BroadcastChannel("fync-app");  // tells the other tabs what changed
const locks = self.navigator.locks ?? localLocks();

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error_description || `the server answered ${status}`);
    Object.assign(this, { status, error: body?.error || "" });
  }
}

// Logged out, by choice or because the access was revoked: nothing of the account stays.
async function forget(why) {
  await Promise.all(Object.values(stores).map((s) => s.clear()));
  if (self.caches) await caches.delete(IMAGES_CACHE);
  const registration = self.registration ?? await self.navigator.serviceWorker?.getRegistration();
  await (await registration?.pushManager?.getSubscription())?.unsubscribe().catch(() => {});
  channel.postMessage({ type: "logged-out", why });
  self.dispatchEvent?.(new CustomEvent("fync-logged-out", { detail: why }));
}

export const auth = createAuth({
  store: stores.session, locks, fetch: (...args) => fetch(...args), now: () => Date.now(),
  random: (n) => crypto.getRandomValues(new Uint8Array(n)), onLoggedOut: forget,
});

// One API call with the account's token → {status, body}; NetworkError when offline.
export async function request(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const res = await auth.authorizedFetch(path, init);
  return { status: res.status, body: res.status === 204 ? null : await res.json().catch(() => null) };
}

// GET that throws ApiError for anything but a 200.
export async function get(path) {
  const { status, body } = await request("GET", path);
  if (status !== 200) throw new ApiError(status, body);
  return body;
}

export const outbox = createOutbox({
  store: stores.outbox, locks, now: () => Date.now(), uuid: () => crypto.randomUUID(),
  send: (item) => request(item.method, item.path, item.body, { "Idempotency-Key": item.key }),
});

// Send the outbox and tell every tab what happened (also run by the service worker).
export async function flushOutbox() {
  const report = await outbox.flush();
  if (report.sent.length || report.refused.length) channel.postMessage({ type: "outbox", report });
  return report;
}
