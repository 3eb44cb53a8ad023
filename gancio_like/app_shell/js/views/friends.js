// Friends: add one by name, answer requests, see friends and people like you.

import { h, replace, avatar } from "../dom.js";
import { showResource } from "../resources.js";
import { act, accept, cancel, decline, sendRequest, waitingTargets } from "../actions.js";

function section(id, title, ...content) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

function addForm() {
  const input = h("input", { id: "add-name", name: "to", required: true, autocomplete: "off",
    autocapitalize: "none", spellcheck: false, placeholder: "bob or bob@other.example" });
  const form = h("form", { class: "add", onsubmit: async (e) => {
    e.preventDefault();
    const to = input.value.trim().replace(/^@/, "");
    if (!to) return;
    input.value = "";
    await act(sendRequest(to));
  } }, h("label", { for: "add-name" }, "Name or name@domain"), h("div", { class: "row" }, input,
    h("button", { type: "submit" }, "Send request")));
  return section("add-h", "Add a friend", form);
}

function person(acct, name, avatarUrl, ...extra) {
  return h("li", { class: "person" }, avatar(avatarUrl),
    h("div", { class: "who" }, h("strong", {}, name || acct), name && name !== acct ? h("small", {}, acct) : null),
    ...extra);
}

function requestItem(r, incoming, waiting) {
  const who = incoming ? r.from : r.to;
  const pending = waiting.has(r.id) ? h("span", { class: "badge" }, "Waiting to be sent") : null;
  const buttons = pending || (incoming
    ? h("div", { class: "buttons" },
      h("button", { type: "button", onclick: () => act(accept(r)), "aria-label": `Accept ${who}` }, "Accept"),
      h("button", { type: "button", class: "secondary", onclick: () => act(decline(r)),
        "aria-label": `Decline ${who}` }, "Decline"))
    : h("button", { type: "button", class: "secondary", onclick: () => act(cancel(r)),
      "aria-label": `Cancel the request to ${who}` }, "Cancel"));
  return person(who, "", r.avatar, buttons);
}

function list(items, draw, empty) {
  return items.length ? h("ul", { class: "people" }, items.map(draw)) : h("p", { class: "muted" }, empty);
}

function problem(box) {
  return (e) => replace(box, h("p", { class: "error" }, e.message));
}

export async function friendsView(root) {
  const requests = h("div"), friends = h("div"), suggestions = h("div");
  root.append(h("h1", {}, "Friends"), addForm(), requests,
    section("friends-h", "Your friends", friends), section("like-h", "People like you", suggestions));
  const waiting = await waitingTargets();
  await Promise.all([
    showResource("requests", (data) => replace(requests,
      data.incoming.length ? section("in-h", "Requests for you",
        list(data.incoming, (r) => requestItem(r, true, waiting), "")) : null,
      data.outgoing.length ? section("out-h", "Requests you sent",
        list(data.outgoing, (r) => requestItem(r, false, waiting), "")) : null), { onError: problem(requests) }),
    showResource("friends", (data) => replace(friends, list(data.items,
      (f) => person(f.acct, f.display_name, f.avatar, h("small", { class: "since" }, `since ${new Date(f.since * 1000).toLocaleDateString("en-GB", { dateStyle: "medium" })}`)),
      "No friends yet: add someone above, or show them your code.")), { onError: problem(friends) }),
    showResource("suggestions", (data) => replace(suggestions, list(data.items, (s) => person(s.user.acct,
      s.user.display_name, s.user.avatar, h("small", { class: "reasons" }, s.reasons.join(" · ")),
      h("button", { type: "button", class: "secondary", onclick: () => act(sendRequest(s.user.acct)),
        "aria-label": `Add ${s.user.display_name || s.user.acct}` }, "Add")),
    "Nobody yet: add interests in your profile to find people like you.")), { onError: problem(suggestions) }),
  ]);
}
