// Small DOM helpers. Data from the server is only ever set as text, never parsed as HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// "2024-05-01T08:30:12.345+00:00" → "2024-05-01 08:30:12.345" (UTC, as every operator sees the same clock).
export function utc(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toISOString().replace("T", " ").replace("Z", "");
}

export function shortId(value, length = 12) {
  const text = value || "";
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

export function setStatus(id, text) {
  $(id).textContent = text;
}

// Run `refresh` now and every `seconds` while `isActive()`; returns a function that stops it.
export function every(seconds, refresh, isActive) {
  const timer = setInterval(() => { if (isActive()) refresh(); }, seconds * 1000);
  return () => clearInterval(timer);
}
