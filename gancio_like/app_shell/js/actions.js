// What a person can do, each as an outbox entry (outbox.js): queued first, then sent at
// once when online, or later by the `online` event or the service worker's Background Sync.

import { h, replace, announce } from "./dom.js";
import { outbox, flushOutbox, LoggedOut, NetworkError } from "./session.js";

const id = (request) => encodeURIComponent(request.id);

export const sendRequest = (to) => ({ kind: "send", method: "POST", path: "/api/friends/requests",
  body: { to }, label: `Friend request to ${to}` });
export const accept = (r) => ({ kind: "accept", method: "POST", path: `/api/friends/requests/${id(r)}/accept`,
  label: `Accept ${r.from}`, target: r.id });
export const decline = (r) => ({ kind: "decline", method: "POST", path: `/api/friends/requests/${id(r)}/decline`,
  label: `Decline ${r.from}`, target: r.id });
export const cancel = (r) => ({ kind: "cancel", method: "POST", path: `/api/friends/requests/${id(r)}/cancel`,
  label: `Cancel the request to ${r.to}`, target: r.id });
export const createEvent = (fields) => ({ kind: "event", method: "POST", path: "/api/events", body: fields,
  label: `New event: ${fields.title}` });

// Queue `action`, try to send what waits, and redraw. → the flush's report, or null offline.
export async function act(action) {
  await outbox.add(action);
  changed();
  if (!navigator.onLine) return wait(`${action.label}: waiting for the network.`);
  try {
    const report = await flushOutbox();
    if (report.stopped) return wait(`${action.label}: waiting for the network.`);
    announce(report.refused.length ? `Not done: ${report.refused[0].reason}` : `Done: ${action.label}.`);
    return report;
  } catch (e) {
    if (e instanceof NetworkError || e instanceof LoggedOut) return wait(`${action.label}: waiting.`);
    throw e;
  } finally {
    changed();
  }
}

async function wait(message) {
  announce(message);
  const registration = await navigator.serviceWorker?.ready;
  await registration?.sync?.register("fync-outbox").catch(() => {});  // Background Sync, where there is one
  return null;
}

function changed() {
  document.getElementById("outbox")?.dispatchEvent(new Event("fync-outbox-changed"));
}

// The targets (request ids) of actions still waiting, so a view can show them as pending.
export async function waitingTargets() {
  return new Set((await outbox.list()).filter((i) => i.state === "waiting" && i.target).map((i) => i.target));
}

// The outbox panel above every view: what waits, and what the server refused, with why.
export async function drawOutbox(panel, items) {
  items ??= await outbox.list();
  const waiting = items.filter((i) => i.state === "waiting");
  const refused = items.filter((i) => i.state === "refused");
  replace(panel,
    waiting.length ? h("section", { class: "card waiting", "aria-labelledby": "waiting-h" },
      h("h2", { id: "waiting-h" }, "Waiting to be sent"),
      h("ul", { class: "plain" }, waiting.map((i) => h("li", {}, i.label)))) : null,
    refused.map((i) => h("section", { class: "card refused", role: "alert", "aria-label": `Not done: ${i.label}` },
      h("p", {}, h("strong", {}, "Not done: "), i.label),
      h("p", {}, `The server said: ${i.reason}`),
      h("button", { type: "button", class: "secondary", onclick: () => dismiss(i.id) }, "Dismiss"))));
}

async function dismiss(itemId) {
  await outbox.dismiss(itemId);
  await drawOutbox(document.getElementById("outbox"));
  announce("Dismissed.");
}
