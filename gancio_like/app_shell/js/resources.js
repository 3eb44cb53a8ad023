// What the app shows, kept in IndexedDB's "cache" store: the last answer seen is shown at
// once (offline too), then the server is asked again and the view redrawn (SPEC §9).
// The service worker never caches these answers: they are the person's own data.

import { get, stores, NetworkError, LoggedOut, ApiError } from "./session.js";

export const PATHS = {
  me: "/api/me",
  friends: "/api/friends?limit=100",
  requests: "/api/friends/requests",
  suggestions: "/api/people/suggestions?limit=20",
  events: "/api/events?limit=50",
  notifications: "/api/notifications?limit=50",
};
export const eventPath = (id) => `/api/events/${encodeURIComponent(id)}`;

export const cached = (name) => stores.cache.get(name);

export async function fetchFresh(name, path = PATHS[name]) {
  const data = await get(path);
  await stores.cache.put(name, { data, saved_at: Date.now() });
  return data;
}

// show(data, {fresh, saved_at}) runs with the saved copy (if any), then with the new one.
// → "fresh" | "offline" | "refused"; on a refusal, `onError(error)` says why.
export async function showResource(name, show, { path, onError } = {}) {
  const saved = await cached(name);
  if (saved) drawn(show(saved.data, { fresh: false, saved_at: saved.saved_at }));
  try {
    drawn(show(await fetchFresh(name, path), { fresh: true, saved_at: Date.now() }));
    return "fresh";
  } catch (e) {
    if (e instanceof NetworkError) {
      if (!saved) onError?.(new Error("Not available offline yet: open this once while online."));
      return "offline";
    }
    if (e instanceof LoggedOut) return "logged out";
    if (e instanceof ApiError) { onError?.(e); return "refused"; }
    throw e;
  }
}

// The first data on screen since the page opened, as a performance mark the tests read.
function drawn() {
  if (!performance.getEntriesByName("fync-first-render").length) performance.mark("fync-first-render");
}
