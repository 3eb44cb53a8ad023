// The outbox (SPEC §9 "Offline"): what the person did — send, accept, decline or cancel a
// friend request, create an event — waits here, persisted, until the server has
// answered it. Sent in the order it was done, by whoever gets the lock first (a tab on
// `online`, or the service worker's Background Sync), each with the Idempotency-Key it
// got when it was queued: sent twice (the answer was lost), it still happens once.
//
// An answer decides an action's fate:
// - 2xx: done, removed;
// - the network failed, 5xx, 429, 408, or the key is still being answered: stop here and
//   try again later, keeping the order;
// - any other refusal (a 404: the request was withdrawn; a 409: already friends, or
//   the key was used for another request): kept
//   as "refused" with the server's reason, shown until the person dismisses it. Never
//   dropped silently.
//
// `deps`: {store, locks, send(action) → {status, body}, now, uuid}.

import { LoggedOut, NetworkError } from "./auth.js";

const PREFIX = "action:";

export function createOutbox(deps) {
  const { store, locks } = deps;
  let counter = 0;

  // Queue an action: {kind, method, path, body, label, target}. Keys sort in the order of queueing.
  async function add(action) {
    const id = `${PREFIX}${String(deps.now()).padStart(15, "0")}-${String(counter++).padStart(6, "0")}-${deps.uuid()}`;
    const item = { ...action, id, key: deps.uuid(), state: "waiting", queued_at: deps.now() };
    await store.put(id, item);
    return item;
  }

  async function list() {
    const keys = (await store.keys()).filter((k) => k.startsWith(PREFIX)).sort();
    return (await Promise.all(keys.map((k) => store.get(k)))).filter(Boolean);
  }

  async function dismiss(id) {
    const item = await store.get(id);
    if (item && item.state === "refused") await store.delete(id);
  }

  // Send what waits, in order. → {sent: [...], refused: [...], stopped: reason or null}.
  function flush() {
    return locks.request("fync-outbox", async () => {
      const report = { sent: [], refused: [], stopped: null };
      for (const item of await list()) {
        if (item.state !== "waiting") continue;
        const verdict = await attempt(item);
        if (verdict.retry) { report.stopped = verdict.retry; break; }
        report[verdict.refused ? "refused" : "sent"].push(verdict.item);
      }
      return report;
    });
  }

  async function attempt(item) {
    let answer;
    try {
      answer = await deps.send(item);
    } catch (e) {
      if (e instanceof NetworkError) return { retry: "offline" };
      if (e instanceof LoggedOut) return { retry: "logged out" };
      throw e;
    }
    if (answer.status >= 200 && answer.status < 300) {
      await store.delete(item.id);
      return { item: { ...item, result: answer.body } };
    }
    if (isTransient(answer)) return { retry: `server answered ${answer.status}` };
    const refused = { ...item, state: "refused", status: answer.status, refused_at: deps.now(),
      reason: answer.body?.error_description || `the server answered ${answer.status}` };
    await store.put(item.id, refused);
    return { item: refused, refused: true };
  }

  return { add, list, dismiss, flush };
}

export function isTransient({ status, body }) {
  return status >= 500 || status === 429 || status === 408 || status === 401
    || (status === 409 && body?.error === "idempotency_key_in_use");
}
