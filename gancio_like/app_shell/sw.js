// The app's service worker (SPEC §9). `SHELL` ({version, files}) is put in front of this
// file by the server (handlers/pwa.py), derived from the shell's files, so every deploy
// that changes one installs a new worker with a new cache.
//
// - The shell (HTML, JS, CSS, icons) is precached and served from the cache: the app
//   opens with no network at all.
// - API answers are never cached here: they are the person's own data, which the page
//   keeps in IndexedDB (resources.js) and clears at logout.
// - Avatars and QR codes (public images) are kept in a small cache of their own, so the
//   last ones seen still show offline.
// - Background Sync ("fync-outbox") sends the outbox, even with every tab closed.
// - Push shows the notification the server sends; a tap opens the app there.

import { flushOutbox, IMAGES_CACHE } from "./js/session.js";

const CACHE = `fync-shell-${SHELL.version}`;
const SCOPE = new URL("./", self.location).pathname;  // "/app/"
const IMAGES = /^\/(avatars\/[^/]+|u\/[^/]+\/qr\.svg)$/;

self.addEventListener("install", (event) => {
  // cache: "reload": the files as the server has them now, not an older HTTP-cached copy.
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(SHELL.files.map((url) => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("fync-shell-") && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname === SCOPE) {
    event.respondWith(fromShell(SCOPE, event.request));  // /app/?code=… too: the query is the page's business
  } else if (SHELL.files.includes(url.pathname)) {
    event.respondWith(fromShell(url.pathname, event.request));
  } else if (IMAGES.test(url.pathname)) {
    event.respondWith(image(event));
  }
  // Anything else (the API above all) goes to the network untouched.
});

async function fromShell(key, request) {
  return (await caches.match(key, { cacheName: CACHE })) ?? fetch(request);
}

// The network's image when there is one (kept for later), else the last one kept.
async function image(event) {
  const cache = await caches.open(IMAGES_CACHE);
  try {
    const response = await fetch(event.request);
    if (response.ok) event.waitUntil(cache.put(event.request, response.clone()));
    return response;
  } catch (e) {
    return (await cache.match(event.request)) ?? Response.error();
  }
}

self.addEventListener("sync", (event) => {
  if (event.tag === "fync-outbox") event.waitUntil(flushOutbox());
});

self.addEventListener("push", (event) => {
  const message = event.data?.json() ?? {};
  event.waitUntil(self.registration.showNotification(message.title || "Fync", {
    body: message.body || "", icon: `${SCOPE}icons/icon-192.png`, badge: `${SCOPE}icons/icon-192.png`,
    data: { url: message.url || SCOPE },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openApp());
});

// The app, focused (the notifications view): an open window if there is one, else a new one.
async function openApp() {
  const target = `${SCOPE}#/notifications`;
  const windows = await self.clients.matchAll({ type: "window" });
  const open = windows.find((w) => new URL(w.url).pathname === SCOPE);
  if (open) return (await open.focus()).navigate(target);
  return self.clients.openWindow(target);
}
