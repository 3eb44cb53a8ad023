// The Fync app's page: boots the service worker, finishes a login coming back from the
// consent page, and shows one view per `#/route`. Every view draws from IndexedDB first
// and from the server next (resources.js); actions go through the outbox (actions.js).

import { h, replace, announce } from "./dom.js";
import { channel, stores, outbox, flushOutbox, LoggedOut, NetworkError } from "./session.js";
import { drawOutbox } from "./actions.js";
import { loginView, finishLogin, serverInfo } from "./views/login.js";
import { friendsView } from "./views/friends.js";
import { eventsView, eventView } from "./views/events.js";
import { newEventView } from "./views/newevent.js";
import { notificationsView } from "./views/notifications.js";
import { codeView } from "./views/code.js";

const ROUTES = [
  [/^#\/friends$/, friendsView, "Friends"],
  [/^#\/events$/, eventsView, "Events"],
  [/^#\/events\/(\d+)$/, eventView, "Event"],
  [/^#\/new$/, newEventView, "New event"],
  [/^#\/notifications$/, notificationsView, "Notifications"],
  [/^#\/code$/, codeView, "My code"],
];
const view = document.getElementById("view");
let loggedOutWhy = "";
let latest = 0;  // the newest route() call: an older one still running must not draw over it

// Draw the view the address names. `moved`: the person went there (focus follows);
// otherwise something changed underneath (a sync, another tab) and it is redrawn in place.
async function route(moved = false) {
  const call = ++latest;
  const [tokens, waiting, { instance }] = await Promise.all([stores.session.get("tokens"), outbox.list(), serverInfo()]);
  if (call !== latest) return;
  drawOutbox(document.getElementById("outbox"), waiting);
  document.getElementById("tabs").hidden = !tokens;
  if (!tokens) return show(loginView, `Log in · ${instance}`, [loggedOutWhy], moved);
  const found = ROUTES.find(([pattern]) => pattern.test(location.hash));
  if (!found) return location.replace("#/friends");
  const [pattern, draw, title] = found;
  if (!moved && draw === newEventView && view.firstChild?.dataset.route === location.hash) return;  // keep what is typed
  markTab(location.hash);
  await show(draw, `${title} · ${instance}`, [...pattern.exec(location.hash).slice(1), tokens], moved);
}

// Nothing is awaited between the check in route() and the view being replaced here.
async function show(draw, title, args, moved) {
  document.title = title;
  const root = h("div", { class: "view", "data-route": location.hash });
  replace(view, root);
  const drawn = draw(root, ...args);
  if (moved) view.focus({ preventScroll: true });
  await drawn;
}

function markTab(hash) {
  for (const link of document.querySelectorAll("#tabs a")) {
    const here = hash === link.getAttribute("href") || hash.startsWith(`${link.getAttribute("href")}/`);
    if (here) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
}

function showNetwork() {
  const net = document.getElementById("net");
  net.hidden = navigator.onLine;
  net.textContent = navigator.onLine ? "" : "Offline: showing what was saved. What you do waits and is sent when you are back online.";
}

async function sendWaiting() {
  try {
    const report = await flushOutbox();
    if (report.sent.length || report.refused.length) await route();
  } catch (e) {
    if (!(e instanceof LoggedOut || e instanceof NetworkError)) throw e;
  }
}

async function boot() {
  if (!isSecureContext) throw new Error("it needs https (or localhost): browsers keep service workers and "
    + "the cryptography of the login to secure pages");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { type: "module", scope: "./" }).catch((e) => console.warn("no service worker:", e));
  }
  document.getElementById("instance").textContent = (await serverInfo()).instance;
  showNetwork();
  addEventListener("online", () => { showNetwork(); sendWaiting(); });
  addEventListener("offline", showNetwork);
  addEventListener("hashchange", () => route(true));
  addEventListener("fync-logged-out", (e) => { loggedOutWhy = e.detail; route(); });
  channel.onmessage = ({ data }) => {
    if (data.type === "logged-out") loggedOutWhy = data.why;
    route();
  };
  document.getElementById("outbox").addEventListener("fync-outbox-changed", () => route());
  const params = new URLSearchParams(location.search);
  if (params.has("state") || params.has("code") || params.has("error")) {
    loggedOutWhy = await finishLogin(params);
    history.replaceState(null, "", `${location.pathname}#/friends`);
  }
  await route(true);
  if (navigator.onLine) sendWaiting();
}

boot().catch((e) => {
  replace(view, h("p", { class: "error", role: "alert" }, `The app could not start: ${e.message}`));
  announce("The app could not start.");
});
