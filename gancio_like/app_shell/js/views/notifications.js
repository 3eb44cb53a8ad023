// Notifications (SPEC §4): what happened, newest first; read ones marked; Web Push for
// this device turned on or off here.

import { h, replace, avatar, announce } from "../dom.js";
import { showResource } from "../resources.js";
import { request, stores } from "../session.js";
import { whenText, personZone } from "../time.js";

const SAYS = {
  friend_request: "wants to be your friend",
  friend_accepted: "accepted your friend request",
  friend_event: "published an event",
};

function link(n) {
  if (n.type === "friend_event" && n.object) return `#/events/${encodeURIComponent(n.object)}`;
  return "#/friends";
}

// The server's own words when it gives them (`title`, `body`), else ours.
function item(n, zone) {
  const who = n.actor?.display_name || n.actor?.acct || "Someone";
  const words = n.title ? [h("strong", { class: "line" }, n.title), n.body ? h("span", { class: "line" }, n.body) : null]
    : [h("strong", {}, who), ` ${SAYS[n.type] || n.type}`];
  return h("li", { class: n.read ? "person" : "person unread" }, avatar(n.actor?.avatar),
    h("div", { class: "who" }, h("a", { href: link(n) }, ...words),
      h("small", {}, whenText(n.created_at, zone), n.read ? "" : " · new")));
}

async function markRead(items) {
  const newest = Math.max(0, ...items.filter((n) => !n.read).map((n) => n.id));
  if (newest) await request("POST", "/api/notifications/read", { up_to: newest }).catch(() => {});
}

export async function notificationsView(root, tokens) {
  const box = h("div");
  root.append(h("h1", {}, "Notifications"), pushControl(), box);
  if (!tokens.scope.split(" ").includes("notifications")) {
    replace(box, h("p", { class: "muted" }, "You did not let the app see your notifications. Log out and in again to allow it."));
    return;
  }
  const zone = personZone((await stores.cache.get("me"))?.data);
  const state = await showResource("notifications", (data) => replace(box, data.items.length
    ? h("div", { class: "card" }, h("ul", { class: "people" }, data.items.map((n) => item(n, zone))))
    : h("p", { class: "muted" }, "Nothing yet.")), { onError: (e) => replace(box, h("p", { class: "error" }, e.message)) });
  if (state === "fresh") await markRead((await stores.cache.get("notifications")).data.items);
}

// -- Web Push on this device (RFC 8030 via the browser's push service, VAPID RFC 8292) --

function pushControl() {
  const box = h("section", { class: "card", "aria-labelledby": "push-h" }, h("h2", { id: "push-h" }, "This device"));
  drawPush(box);
  return box;
}

async function drawPush(box) {
  const registration = await navigator.serviceWorker?.ready;
  const heading = box.firstChild;
  if (!registration?.pushManager || !("Notification" in self)) {
    return replace(box, heading, h("p", { class: "muted" }, "This browser cannot show notifications from the app."));
  }
  const subscription = await registration.pushManager.getSubscription();
  const saved = await stores.session.get("push");
  const on = subscription && saved?.endpoint === subscription.endpoint;
  replace(box, heading, h("p", {}, on ? "Notifications are on for this device." : "Get a notification on this device when something happens."),
    h("button", { type: "button", class: on ? "secondary" : "", onclick: () => (on ? turnOff : turnOn)(box, registration) },
      on ? "Turn off notifications for this device" : "Turn on notifications for this device"));
}

async function turnOn(box, registration) {
  try {
    if (await Notification.requestPermission() !== "granted") throw new Error("the browser did not allow notifications");
    const { public_key } = await (await fetch("/api/push/key")).json();
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true,
      applicationServerKey: fromBase64url(public_key) });
    const { status, body } = await request("POST", "/api/push/subscriptions", subscription.toJSON());
    if (status !== 201) throw new Error(body?.error_description || `the server answered ${status}`);
    await stores.session.put("push", { id: body.id, endpoint: subscription.endpoint });
    announce("Notifications are on for this device.");
  } catch (e) {
    announce(`Could not turn notifications on: ${e.message}`);
  }
  await drawPush(box);
}

async function turnOff(box, registration) {
  const saved = await stores.session.get("push");
  if (saved) await request("DELETE", `/api/push/subscriptions/${encodeURIComponent(saved.id)}`).catch(() => {});
  await (await registration.pushManager.getSubscription())?.unsubscribe();
  await stores.session.delete("push");
  announce("Notifications are off for this device.");
  await drawPush(box);
}

function fromBase64url(text) {
  const bytes = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bytes, (c) => c.charCodeAt(0));
}
