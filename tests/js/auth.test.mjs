// The app's login and token logic (gancio_like/app_shell/js/auth.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createAuth, challengeOf, LoggedOut, LoginError, NetworkError } from "../../gancio_like/app_shell/js/auth.js";
import { memoryStore, sharedLocks, noLocks, TokenServer } from "./fakes.mjs";

const SERVER = { issuer: "https://fync.example", client_id: "https://fync.example/app/client.json",
  redirect_uri: "https://fync.example/app/", scope: "profile friends:read",
  authorization_endpoint: "https://fync.example/oauth/authorize", token_endpoint: "https://fync.example/oauth/token",
  revocation_endpoint: "https://fync.example/oauth/revoke" };

function tab({ store = memoryStore(), server = new TokenServer(), locks = sharedLocks(), clock = { now: 1_000_000_000 } } = {}) {
  let n = 0;
  const loggedOut = [];
  const auth = createAuth({ store, locks, fetch: server.fetch, now: () => clock.now * 1000,
    random: (size) => new Uint8Array(size).fill(++n), onLoggedOut: async (why) => { loggedOut.push(why); await store.clear(); } });
  return { auth, store, server, locks, clock, loggedOut };
}

async function loggedIn(t = tab()) {
  const url = new URL(await t.auth.beginLogin(SERVER));
  const state = url.searchParams.get("state");
  await t.auth.completeLogin(new URLSearchParams({ code: "c1", state, iss: SERVER.issuer }));
  return t;
}

test("the authorization URL carries PKCE S256, state, the app's client_id and redirect", async () => {
  const { auth, store } = tab();
  const url = new URL(await auth.beginLogin(SERVER));
  assert.equal(url.origin + url.pathname, SERVER.authorization_endpoint);
  const q = url.searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("client_id"), SERVER.client_id);
  assert.equal(q.get("redirect_uri"), SERVER.redirect_uri);
  assert.equal(q.get("code_challenge_method"), "S256");
  const saved = await store.get(`login:${q.get("state")}`);
  assert.ok(saved.verifier.length >= 43);
  assert.equal(q.get("code_challenge"), await challengeOf(saved.verifier));
});

test("the challenge is RFC 7636 appendix B's", async () => {
  assert.equal(await challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
});

test("back from consent: the code is exchanged with the verifier and the tokens kept", async () => {
  const t = await loggedIn();
  const exchange = t.server.calls.at(-1);
  assert.equal(exchange.form.grant_type, "authorization_code");
  assert.equal(exchange.form.client_id, SERVER.client_id);
  assert.ok(exchange.form.code_verifier);
  const tokens = await t.store.get("tokens");
  assert.equal(tokens.refresh_token, "refresh-1");
  assert.equal(tokens.expires_at, t.clock.now + 3600);
  assert.deepEqual((await t.store.keys()).filter((k) => k.startsWith("login:")), []);  // the state is spent
});

test("an answer with an unknown state is refused without asking for tokens", async () => {
  const t = tab();
  await t.auth.beginLogin(SERVER);
  await assert.rejects(t.auth.completeLogin(new URLSearchParams({ code: "c", state: "forged", iss: SERVER.issuer })), LoginError);
  assert.equal(t.server.calls.length, 0);
  assert.equal(await t.store.get("tokens"), undefined);
});

test("an answer from another issuer (RFC 9207), or none, is refused and its state spent", async () => {
  for (const iss of ["https://evil.example", null]) {
    const t = tab();
    const state = new URL(await t.auth.beginLogin(SERVER)).searchParams.get("state");
    const params = new URLSearchParams({ code: "c", state });
    if (iss) params.set("iss", iss);
    await assert.rejects(t.auth.completeLogin(params), /another server/);
    assert.equal(t.server.calls.length, 0);
    params.set("iss", SERVER.issuer);  // replaying it right afterwards does not work either
    await assert.rejects(t.auth.completeLogin(params), /does not belong/);
  }
});

test("a denied consent says so", async () => {
  const t = tab();
  const state = new URL(await t.auth.beginLogin(SERVER)).searchParams.get("state");
  await assert.rejects(t.auth.completeLogin(new URLSearchParams({ error: "access_denied", state, iss: SERVER.issuer })),
    /chose not to connect/);
});

test("a login started over an hour ago is refused", async () => {
  const t = tab();
  const state = new URL(await t.auth.beginLogin(SERVER)).searchParams.get("state");
  t.clock.now += 3601;
  await assert.rejects(t.auth.completeLogin(new URLSearchParams({ code: "c", state, iss: SERVER.issuer })), LoginError);
});

test("tokens are renewed a minute before they expire, not earlier, and the new refresh token kept", async () => {
  const t = await loggedIn();
  t.clock.now += 3600 - 61;
  assert.equal((await t.auth.current()).access_token, "access-1");
  t.clock.now += 2;
  const renewed = await t.auth.current();
  assert.equal(renewed.access_token, "access-2");
  assert.equal((await t.store.get("tokens")).refresh_token, "refresh-2");
  assert.equal(t.server.calls.at(-1).form.refresh_token, "refresh-1");
});

test("two tabs renewing at once spend the refresh token once (the lock)", async () => {
  const a = await loggedIn();
  const b = tab({ store: a.store, server: a.server, locks: a.locks, clock: a.clock });
  a.clock.now += 3600;
  const [ta, tb] = await Promise.all([a.auth.current(), b.auth.current()]);
  assert.equal(ta.access_token, tb.access_token);
  assert.equal(a.server.calls.filter((c) => c.form.grant_type === "refresh_token").length, 1);
  assert.equal(a.server.revoked, false);
});

test("without the lock two tabs would spend one refresh token twice and end the login (why the lock)", async () => {
  const a = await loggedIn(tab({ locks: noLocks }));
  const b = tab({ store: a.store, server: a.server, locks: noLocks, clock: a.clock });
  a.clock.now += 3600;
  await Promise.allSettled([a.auth.current(), b.auth.current()]);
  assert.equal(a.server.revoked, true);
});

test("a 401 is answered by one renewal and one retry", async () => {
  const t = await loggedIn();
  t.server.access.clear();  // the access token died early (e.g. the server restarted its keys)
  t.server.access.add("access-2");
  const res = await t.auth.authorizedFetch("https://fync.example/api/me");
  assert.equal(res.status, 200);
  assert.equal(t.server.calls.at(-1).headers.Authorization, "Bearer access-2");
});

test("a revoked login: the 401, then a refused renewal, log out and clear the account's data", async () => {
  const t = await loggedIn();
  await t.store.put("cache-like", { x: 1 });
  t.server.live.clear();
  t.server.access.clear();
  t.server.revoked = true;
  await assert.rejects(t.auth.authorizedFetch("https://fync.example/api/me"), LoggedOut);
  assert.equal(t.loggedOut.length, 1);
  assert.deepEqual(await t.store.keys(), []);
});

test("offline, or a failing token endpoint, keeps the tokens for later", async () => {
  const t = await loggedIn();
  t.clock.now += 3600;
  t.server.down = true;
  await assert.rejects(t.auth.current(), NetworkError);
  t.server.down = false;
  t.server.status = 503;
  await assert.rejects(t.auth.current(), NetworkError);
  assert.equal((await t.store.get("tokens")).refresh_token, "refresh-1");
  assert.deepEqual(t.loggedOut, []);
  t.server.status = null;
  assert.equal((await t.auth.current()).refresh_token, "refresh-2");
});

test("tokens without expires_in are never renewed ahead", async () => {
  const server = new TokenServer();
  server.expiresIn = 0;
  const t = await loggedIn(tab({ server }));
  t.clock.now += 10 * 365 * 86400;
  assert.equal((await t.auth.current()).access_token, "access-1");
});

test("logging out revokes the refresh token and forgets everything", async () => {
  const t = await loggedIn();
  await t.auth.logout();
  const revoke = t.server.calls.at(-1);
  assert.ok(revoke.url.endsWith("/revoke"));
  assert.equal(revoke.form.token, "refresh-1");
  assert.equal(revoke.form.client_id, SERVER.client_id);
  assert.equal(await t.auth.current(), null);
});
