// The app's outbox (gancio_like/app_shell/js/outbox.js): order, once-only, refusals kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createOutbox } from "../../gancio_like/app_shell/js/outbox.js";
import { NetworkError, LoggedOut } from "../../gancio_like/app_shell/js/auth.js";
import { memoryStore, sharedLocks, tick } from "./fakes.mjs";

// A server that acts on each Idempotency-Key once and replays its answer after, as Fync's API does.
class Api {
  constructor() {
    this.done = new Map();   // key → answer
    this.effects = [];       // what really happened, in order
    this.sends = [];         // every request that reached it
    this.offline = false;
    this.loseAnswers = false;  // the server acts, but the answer never comes back
    this.answers = {};        // path → forced {status, body}
  }

  send = async (item) => {
    await tick();
    if (this.offline) throw new NetworkError("Failed to fetch");
    this.sends.push(item.path);
    let answer = this.done.get(item.key);
    if (!answer) {
      answer = this.answers[item.path] || { status: 201, body: { id: this.effects.length + 1 } };
      if (answer.status < 300) this.effects.push(item.path);
      if (answer.status < 500 && answer.status !== 429 && answer.body?.error !== "idempotency_key_in_use")
        this.done.set(item.key, answer);
    }
    if (this.loseAnswers) throw new NetworkError("connection reset");
    return answer;
  };
}

function outboxOn(store, api, locks = sharedLocks()) {
  let clock = 1_700_000_000_000, uuid = 0;
  return createOutbox({ store, locks, send: api.send, now: () => clock++, uuid: () => `uuid-${++uuid}-${Math.random()}` });
}

const accept = (id) => ({ kind: "accept", method: "POST", path: `/api/friends/requests/${id}/accept`, label: `accept ${id}`, target: id });

test("actions are sent in the order they were queued, then removed", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  for (const id of [3, 1, 2]) await box.add(accept(id));
  const report = await box.flush();
  assert.deepEqual(api.effects, ["/api/friends/requests/3/accept", "/api/friends/requests/1/accept", "/api/friends/requests/2/accept"]);
  assert.equal(report.sent.length, 3);
  assert.deepEqual(await box.list(), []);
});

test("offline: nothing is lost; back online the rest goes, in order, the first not again", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  for (const id of [1, 2, 3]) await box.add(accept(id));
  api.offline = true;
  assert.equal((await box.flush()).stopped, "offline");
  assert.equal((await box.list()).length, 3);
  api.offline = false;
  await box.flush();
  assert.deepEqual(api.effects, [1, 2, 3].map((id) => `/api/friends/requests/${id}/accept`));
});

test("the queue survives the app being closed: a new outbox on the same store sends it", async () => {
  const store = memoryStore(), api = new Api();
  await outboxOn(store, api).add(accept(7));
  const reopened = outboxOn(store, api);
  assert.equal((await reopened.list())[0].state, "waiting");
  await reopened.flush();
  assert.deepEqual(api.effects, ["/api/friends/requests/7/accept"]);
});

test("an answer lost on the way back: sent again with the same key, it happens once", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  await box.add(accept(4));
  api.loseAnswers = true;
  assert.equal((await box.flush()).stopped, "offline");
  api.loseAnswers = false;
  const report = await box.flush();
  assert.equal(api.sends.length, 2);
  assert.deepEqual(api.effects, ["/api/friends/requests/4/accept"]);
  assert.equal(report.sent.length, 1);
});

test("each action has its own key, kept from queueing to sending", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  const a = await box.add(accept(1)), b = await box.add(accept(1));
  assert.notEqual(a.key, b.key);  // doing the same thing twice on purpose is two actions
  assert.equal((await box.list())[0].key, a.key);
});

test("a refusal is kept with the server's reason, the next actions still go, and it is never resent", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  api.answers["/api/friends/requests/5/accept"] = { status: 404, body: { error: "not_found", error_description: "no such friend request" } };
  await box.add(accept(5));
  await box.add(accept(6));
  const report = await box.flush();
  assert.equal(report.refused.length, 1);
  assert.deepEqual(api.effects, ["/api/friends/requests/6/accept"]);
  const [kept] = await box.list();
  assert.equal(kept.state, "refused");
  assert.equal(kept.reason, "no such friend request");
  assert.equal(kept.status, 404);
  await box.flush();
  assert.equal(api.sends.length, 2);  // the refused one was not sent again
  await box.dismiss(kept.id);
  assert.deepEqual(await box.list(), []);
});

test("dismissing touches only refused actions", async () => {
  const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
  const waiting = await box.add(accept(1));
  await box.dismiss(waiting.id);
  assert.equal((await box.list()).length, 1);
});

test("5xx, 429, 408 and a key still being answered wait and keep the order; other 409s are refusals", async () => {
  for (const [answer, transient] of [
    [{ status: 503, body: {} }, true], [{ status: 429, body: {} }, true], [{ status: 408, body: {} }, true],
    [{ status: 409, body: { error: "idempotency_key_in_use" } }, true],
    [{ status: 409, body: { error: "conflict", error_description: "already friends" } }, false],
    [{ status: 409, body: { error: "idempotency_key_reused" } }, false]]) {
    const store = memoryStore(), api = new Api(), box = outboxOn(store, api);
    api.answers["/api/friends/requests/1/accept"] = answer;
    await box.add(accept(1));
    await box.add(accept(2));
    const report = await box.flush();
    assert.equal(Boolean(report.stopped), transient, JSON.stringify(answer));
    assert.deepEqual(api.effects, transient ? [] : ["/api/friends/requests/2/accept"], JSON.stringify(answer));
  }
});

test("a logged-out session stops the flush without marking anything refused", async () => {
  const store = memoryStore();
  const box = createOutbox({ store, locks: sharedLocks(), now: () => 1, uuid: () => String(Math.random()),
    send: async () => { throw new LoggedOut("revoked"); } });
  await box.add(accept(1));
  assert.equal((await box.flush()).stopped, "logged out");
  assert.equal((await box.list())[0].state, "waiting");
});

test("two tabs flushing at once send each action once (the lock)", async () => {
  const store = memoryStore(), api = new Api(), locks = sharedLocks();
  const a = outboxOn(store, api, locks), b = outboxOn(store, api, locks);
  for (const id of [1, 2, 3]) await a.add(accept(id));
  await Promise.all([a.flush(), b.flush()]);
  assert.equal(api.sends.length, 3);
});
