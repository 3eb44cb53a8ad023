// Upcoming events, and one event's details.

import { h, replace } from "../dom.js";
import { cached, eventPath, showResource } from "../resources.js";
import { personZone, whenText } from "../time.js";

async function zone() {
  return personZone((await cached("me"))?.data);
}

function place(e) {
  return [e.place_name, e.place_address].filter(Boolean).join(", ");
}

export async function eventsView(root) {
  const box = h("div");
  root.append(h("div", { class: "heading" }, h("h1", {}, "Upcoming events"),
    h("a", { class: "button", href: "#/new" }, "New event")), box);
  const tz = await zone();
  await showResource("events", (data) => replace(box, data.items.length
    ? h("ul", { class: "events" }, data.items.map((e) => h("li", { class: "card" },
      h("a", { href: `#/events/${e.id}`, class: "title" }, e.title),
      h("p", {}, h("time", { datetime: new Date(e.start_datetime * 1000).toISOString() }, whenText(e.start_datetime, tz))),
      place(e) ? h("p", { class: "muted" }, place(e)) : null)))
    : h("p", { class: "muted" }, "No upcoming events.")),
  { onError: (err) => replace(box, h("p", { class: "error" }, err.message)) });
}

function details(e, tz) {
  return [
    h("h1", {}, e.title),
    h("dl", { class: "facts" },
      h("dt", {}, "When"), h("dd", {}, whenText(e.start_datetime, tz),
        e.end_datetime ? ` – ${whenText(e.end_datetime, tz)}` : "",
        e.timezone && e.timezone !== tz ? h("small", {}, `${whenText(e.start_datetime, e.timezone)} where it happens`) : null),
      place(e) ? [h("dt", {}, "Where"), h("dd", {}, place(e))] : null,
      h("dt", {}, "By"), h("dd", {}, e.owner),
      e.tags.length ? [h("dt", {}, "Tags"), h("dd", {}, e.tags.join(", "))] : null),
    e.description ? h("p", { class: "description" }, e.description) : null,
    /^https?:\/\//.test(e.url || "") ? h("p", {}, h("a", { href: e.url, rel: "noopener" }, "Open its page on the web")) : null,
  ];
}

export async function eventView(root, id) {
  const box = h("article", { class: "card event" });
  root.append(h("p", {}, h("a", { href: "#/events" }, "← All events")), box);
  const tz = await zone();
  const listed = (await cached("events"))?.data.items.find((e) => String(e.id) === id);
  if (listed) replace(box, details(listed, tz));
  await showResource(`event:${id}`, (e) => replace(box, details(e, tz)),
    { path: eventPath(id), onError: (err) => { if (!listed) replace(box, h("p", { class: "error" }, err.message)); } });
}
