// Logging in: the app is this instance's own public client (`/app/client.json`), found
// through the server's metadata (RFC 8414) like any other app would find it.

import { h, announce } from "../dom.js";
import { auth, stores } from "../session.js";
import { fetchFresh } from "../resources.js";

const KEPT = "fync-instance";
let asking = null;

// {instance}: the instance's name. The one kept from last time answers at once (the first
// view never waits for the network); the public API index is asked in the background.
export async function serverInfo() {
  const kept = localStorage.getItem(KEPT);
  asking ??= fetch("/api", { headers: { Accept: "application/json" } }).then((r) => r.json())
    .then((index) => { localStorage.setItem(KEPT, index.instance); return { instance: index.instance }; })
    .catch(() => ({ instance: kept || "Fync" }));
  return kept ? { instance: kept } : asking;
}

// What the authorization needs, read from the server and checked against each other.
async function authorizationServer() {
  const [meta, doc] = await Promise.all(["/.well-known/oauth-authorization-server", "client.json"]
    .map((url) => fetch(url).then((r) => r.json())));
  if (doc.client_id !== `${meta.issuer}/app/client.json` || !meta.code_challenge_methods_supported?.includes("S256"))
    throw new Error("this server's metadata does not describe its own app");
  return { issuer: meta.issuer, client_id: doc.client_id, redirect_uri: doc.redirect_uris[0], scope: doc.scope,
    authorization_endpoint: meta.authorization_endpoint, token_endpoint: meta.token_endpoint,
    revocation_endpoint: meta.revocation_endpoint };
}

async function startLogin(button) {
  button.disabled = true;
  try {
    const server = await authorizationServer();
    if (new URL(server.issuer).origin !== location.origin) {
      location.assign(`${server.issuer}/app/`);  // the login must come back to where it started
      return;
    }
    location.assign(await auth.beginLogin(server));
  } catch (e) {
    button.disabled = false;
    announce(navigator.onLine ? `Could not start the login: ${e.message}` : "You are offline: log in once you are online.");
  }
}

export async function loginView(root, why) {
  const { instance } = await serverInfo();
  const button = h("button", { type: "button", onclick: () => startLogin(button) }, `Log in with ${instance}`);
  root.append(
    h("h1", {}, `${instance} app`),
    why ? h("p", { class: "notice", role: "status" }, why) : null,
    h("p", {}, "Your friends, their events and your requests, on your phone, also without a connection."),
    h("p", {}, `You will be asked on ${instance} to let this app use your account.`),
    button);
}

// Back from the consent page: → a message to show, "" when logged in.
export async function finishLogin(params) {
  try {
    await auth.completeLogin(params);
    await stores.cache.clear();  // a new login starts from nothing but what the server says
    await fetchFresh("me").catch(() => {});
    return "";
  } catch (e) {
    return e.message;
  }
}
