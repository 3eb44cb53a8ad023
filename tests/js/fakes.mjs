// Stand-ins for what a browser gives the app's modules: a key-value store (IndexedDB),
// Web Locks, and an OAuth token endpoint that rotates refresh tokens strictly, as Fync does.

export function memoryStore() {
  const data = new Map();
  const copy = (v) => (v === undefined ? undefined : structuredClone(v));
  return {
    data,
    get: async (k) => copy(data.get(k)),
    put: async (k, v) => { data.set(k, copy(v)); },
    delete: async (k) => { data.delete(k); },
    keys: async () => [...data.keys()].sort(),
    clear: async () => { data.clear(); },
  };
}

// Web Locks shared by every "tab" given the same object: one holder per name at a time.
export function sharedLocks() {
  const tails = new Map();
  return {
    request(name, work) {
      const result = (tails.get(name) || Promise.resolve()).then(() => work());
      tails.set(name, result.catch(() => {}));
      return result;
    },
  };
}

export const noLocks = { request: (name, work) => work() };

export const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

export function response(status, body) {
  return { status, json: async () => body };
}

// An authorization server: codes and refresh tokens, each usable once; reusing a spent
// refresh token ends the whole login (RFC 9700 §4.14), like Fync's token endpoint.
export class TokenServer {
  constructor() {
    this.counter = 0;
    this.live = new Set();     // refresh tokens not yet spent
    this.access = new Set();   // valid access tokens
    this.revoked = false;
    this.calls = [];
    this.down = false;
    this.status = null;        // force an answer status (e.g. 503)
    this.expiresIn = 3600;
  }

  issue() {
    const n = ++this.counter;
    this.live.add(`refresh-${n}`);
    this.access.add(`access-${n}`);
    return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "Bearer",
      expires_in: this.expiresIn, scope: "profile friends:read" };
  }

  fetch = async (url, init = {}) => {
    if (this.down) throw new TypeError("Failed to fetch");
    const form = init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : {};
    this.calls.push({ url: String(url), form, headers: init.headers || {} });
    await tick();  // let concurrent callers interleave, as over a real network
    if (this.status) return response(this.status, { error: "temporarily_unavailable" });
    if (String(url).endsWith("/token")) return this.token(form);
    if (String(url).endsWith("/revoke")) { this.live.clear(); this.access.clear(); return response(200, {}); }
    const auth = (init.headers || {}).Authorization || "";
    return this.access.has(auth.replace("Bearer ", "")) ? response(200, { ok: true }) : response(401, { error: "invalid_token" });
  };

  token(form) {
    if (form.grant_type === "authorization_code") return response(200, this.issue());
    if (!this.live.has(form.refresh_token)) {
      this.revoked = true;
      this.live.clear();
      this.access.clear();
      return response(400, { error: "invalid_grant", error_description: "refresh token spent" });
    }
    this.live.delete(form.refresh_token);
    return response(200, this.issue());
  }
}
