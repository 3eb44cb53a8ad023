// Create an event: local times in the person's zone, sent through the outbox (so it
// also works offline: the event is created when the network is back).

import { h, announce } from "../dom.js";
import { cached } from "../resources.js";
import { act, createEvent } from "../actions.js";
import { fromLocalInput, personZone } from "../time.js";

function field(id, label, props = {}) {
  const input = h(props.tag || "input", { id, name: id, ...props, tag: null });
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function read(form, zone) {
  const value = (name) => form.elements[name].value.trim();
  const start = fromLocalInput(value("start"), zone);
  const end = value("end") ? fromLocalInput(value("end"), zone) : null;
  if (start === null) return { error: "Give the day and time it starts." };
  if (end !== null && end < start) return { error: "It cannot end before it starts." };
  return { fields: { title: value("title"), start_datetime: start, end_datetime: end, timezone: zone,
    place_name: value("place_name"), place_address: value("place_address"), description: value("description"),
    tags: value("tags").split(",").map((t) => t.trim()).filter(Boolean) } };
}

export async function newEventView(root) {
  const zone = personZone((await cached("me"))?.data);
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const { fields, error: problem } = read(form, zone);
    error.hidden = !problem;
    error.textContent = problem || "";
    if (problem) return;
    await act(createEvent(fields));
    location.hash = "#/events";
  } },
  field("title", "Title", { required: true, maxLength: 200 }),
  field("start", "Starts", { type: "datetime-local", required: true }),
  field("end", "Ends (optional)", { type: "datetime-local" }),
  field("place_name", "Place"),
  field("place_address", "Address"),
  field("description", "Description", { tag: "textarea", rows: 4 }),
  field("tags", "Tags (comma-separated)"),
  h("p", { class: "muted" }, `Times are in ${zone}.`),
  error,
  h("button", { type: "submit" }, "Create event"));
  root.append(h("h1", {}, "New event"), form);
  announce("");
}
