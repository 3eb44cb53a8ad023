// Building the page from data without ever parsing data as HTML: text goes in as text.

// h("a", {href: "#/x", class: "y"}, "text", child…) → an element. `on*` props are listeners.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name in el && !name.includes("-") && name !== "list") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

// Say something to screen readers (and show it) without moving focus.
export function announce(text) {
  const region = document.getElementById("status");
  region.textContent = "";
  if (text) setTimeout(() => { region.textContent = text; }, 50);
}

// A person's picture, or a plain disc when there is none or it cannot be had (offline).
export function avatar(url, size = 40) {
  const disc = () => h("span", { class: "avatar", "aria-hidden": "true" });
  if (!url) return disc();
  const img = h("img", { class: "avatar", src: url, alt: "", width: size, height: size, loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(disc()), { once: true });
  return img;
}
