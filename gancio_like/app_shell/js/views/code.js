// "My code": a QR code of my address, to befriend people in person; and the account.

import { h, replace, announce } from "../dom.js";
import { showResource } from "../resources.js";
import { auth } from "../session.js";

function card(me) {
  const address = `${new URL(me.url).origin}/@${me.username}`;  // what the QR code says too
  return [
    h("figure", { class: "qr" },
      h("img", { src: `/u/${encodeURIComponent(me.username)}/qr.svg`, width: 240, height: 240,
        alt: `QR code of ${address}` }),
      h("figcaption", {}, h("strong", {}, me.display_name || me.username), h("span", { class: "mono" }, me.acct))),
    h("p", {}, "Let a friend scan this code with their phone's camera, or send them your address:"),
    h("p", { class: "mono address" }, address),
    navigator.share ? h("button", { type: "button", class: "secondary",
      onclick: () => navigator.share({ title: me.display_name || me.username, url: address }).catch(() => {}) },
    "Share my address") : null,
  ];
}

export async function codeView(root) {
  const box = h("div", { class: "card" });
  const logout = h("button", { type: "button", class: "secondary", onclick: async () => {
    logout.disabled = true;
    await auth.logout();
    announce("You logged out.");
  } }, "Log out");
  root.append(h("h1", {}, "My code"), box, h("section", { class: "card", "aria-labelledby": "account-h" },
    h("h2", { id: "account-h" }, "This device"),
    h("p", {}, "The app keeps your friends and events on this device so you can see them offline. Logging out removes them."),
    logout));
  await showResource("me", (me) => replace(box, card(me)),
    { onError: (e) => replace(box, h("p", { class: "error" }, e.message)) });
}
