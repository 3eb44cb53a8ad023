// Logging in as a public OAuth client of this instance (SPEC §3, §9): authorization code
// with PKCE S256 (RFC 7636), `state` checked, `iss` checked (RFC 9207), tokens kept in a
// store (IndexedDB in the app), refreshed before they expire. Refresh tokens rotate and
// the server lets only one use of each succeed, so every refresh runs under one lock
// shared by all tabs and the service worker: whoever holds it re-reads the tokens first
// and only spends the refresh token if nobody else already has.
//
// Everything the outside world provides comes in `deps`, so the logic runs under
// `node --test` too: {store, fetch, locks, now, random}.

export const REFRESH_EARLY = 60; // seconds before expiry a token is renewed
const TOKENS = "tokens";
const LOGIN = "login:";          // + state: a login that went to the consent page
const LOGIN_TTL = 3600;          // seconds a started login may take

export class LoggedOut extends Error {}
export class NetworkError extends Error {}
export class LoginError extends Error {}

export function createAuth(deps) {
  const { store, locks } = deps;
  const now = () => Math.floor(deps.now() / 1000);

  async function post(url, form) {
    let res;
    try {
      res = await deps.fetch(url, { method: "POST", body: new URLSearchParams(form),
        headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    } catch (e) { throw new NetworkError(e.message); }
    return { status: res.status, body: await res.json().catch(() => ({})) };
  }

  async function saveTokens(server, body) {
    const tokens = { ...server, access_token: body.access_token, refresh_token: body.refresh_token,
      scope: body.scope || "", expires_at: body.expires_in ? now() + body.expires_in : null };
    await store.put(TOKENS, tokens);
    return tokens;
  }

  // → the authorization URL to send the browser to. `server`: {issuer, client_id,
  // redirect_uri, scope, authorization_endpoint, token_endpoint, revocation_endpoint}.
  async function beginLogin(server) {
    const state = base64url(deps.random(32));
    const verifier = base64url(deps.random(32));
    await store.put(LOGIN + state, { verifier, server, at: now() });
    const url = new URL(server.authorization_endpoint);
    url.search = new URLSearchParams({ response_type: "code", client_id: server.client_id,
      redirect_uri: server.redirect_uri, scope: server.scope, state,
      code_challenge: await challengeOf(verifier), code_challenge_method: "S256" });
    return url.href;
  }

  // The redirect's query parameters → tokens, or LoginError saying what went wrong.
  async function completeLogin(params) {
    const state = params.get("state") || "";
    const started = state && await store.get(LOGIN + state);
    if (started) await store.delete(LOGIN + state);
    if (!started || now() - started.at > LOGIN_TTL)
      throw new LoginError("This answer does not belong to a login started here. Please log in again.");
    const { server, verifier } = started;
    if (params.get("iss") !== server.issuer)  // RFC 9207 §2.4: a mix-up, or an old server
      throw new LoginError("The answer came from another server than the one asked. Please log in again.");
    if (params.get("error"))
      throw new LoginError(params.get("error") === "access_denied" ? "You chose not to connect the app."
        : `Login failed: ${params.get("error_description") || params.get("error")}`);
    const { status, body } = await post(server.token_endpoint, { grant_type: "authorization_code",
      code: params.get("code") || "", code_verifier: verifier, client_id: server.client_id,
      redirect_uri: server.redirect_uri });
    if (status !== 200) throw new LoginError(`Login failed: ${body.error_description || status}`);
    return saveTokens(server, body);
  }

  // The tokens in use (null when logged out); renewed first when about to expire.
  async function current() {
    const tokens = await store.get(TOKENS);
    if (tokens && tokens.expires_at !== null && tokens.expires_at - now() < REFRESH_EARLY)
      return refresh(tokens);
    return tokens || null;
  }

  // Renew `seen` (the tokens a caller found too old or refused). Under the lock, tokens
  // that changed meanwhile are someone else's fresh ones: use those, spend nothing.
  function refresh(seen) {
    return locks.request("fync-tokens", async () => {
      const tokens = await store.get(TOKENS);
      if (!tokens) throw new LoggedOut("logged out");
      if (tokens.refresh_token !== seen.refresh_token) return tokens;
      if (!tokens.refresh_token) return endSession("The login has expired.");
      const { status, body } = await post(tokens.token_endpoint, { grant_type: "refresh_token",
        refresh_token: tokens.refresh_token, client_id: tokens.client_id });
      if (status === 200) return saveTokens(tokens, body);
      if (status === 400 || status === 401) return endSession("The app's access was ended.");
      throw new NetworkError(`token endpoint answered ${status}`);  // 5xx, 429: try later
    });
  }

  async function endSession(why) {
    await deps.onLoggedOut?.(why);
    throw new LoggedOut(why);
  }

  // fetch with the bearer token; a 401 gets one refresh and one retry, then logs out.
  async function authorizedFetch(url, init = {}) {
    let tokens = await current();
    if (!tokens) throw new LoggedOut("not logged in");
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await deps.fetch(url, { ...init, headers: { ...init.headers,
          Authorization: `Bearer ${tokens.access_token}` } });
      } catch (e) { throw new NetworkError(e.message); }
      if (res.status !== 401) return res;
      if (attempt === 1) return endSession("The app's access was ended.");
      tokens = await refresh(tokens);
    }
  }

  // Revoke the refresh token (which ends its access tokens too, RFC 7009) when we can.
  async function logout() {
    const tokens = await store.get(TOKENS);
    if (tokens?.refresh_token && tokens.revocation_endpoint) {
      await post(tokens.revocation_endpoint, { token: tokens.refresh_token, token_type_hint: "refresh_token",
        client_id: tokens.client_id }).catch(() => {});
    }
    await deps.onLoggedOut?.("You logged out.");
  }

  return { beginLogin, completeLogin, current, refresh, authorizedFetch, logout };
}

export function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}
