// Shared helpers: the JSON API with the session cookie and CSRF header, formatting, DOM.
"use strict";

const CSRF_COOKIE = "emberwatch_csrf";

function csrfToken() {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(CSRF_COOKIE + "="));
  return hit ? decodeURIComponent(hit.slice(CSRF_COOKIE.length + 1)) : "";
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// fetch() a JSON endpoint; a 401 sends the browser to the login page.
async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !path.startsWith("/api/auth/login")) {
    location.href = "/login";
    throw new ApiError(401, "not logged in");
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.detail || res.statusText);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) {
    return s % 60 ? t("time.m", { m: Math.floor(s / 60), s: s % 60 }) : t("time.min", { m: s / 60 });
  }
  if (s < 86400) return t("time.h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  return t("time.d", { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
}

function fmtTime(iso, withDate = false) {
  if (!iso) return "";
  const d = new Date(iso);
  const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  return d.toLocaleString(I18N.lang, opts);
}

function fmtScore(x) {
  return x === null || x === undefined ? "–" : x.toFixed(2);
}

function clsLabel(cls) {
  const key = "cls." + cls;
  const text = t(key);
  return text === key ? cls : text;
}

function statusBadge(status) {
  return el("span", { class: "status s-" + status }, t("status." + status));
}

// A new event that continues another one (its region grew, its evidence rose) or re-alerts a
// dismissed one: the operator is alerted again, and sees why. Nothing for an ordinary event.
function realertBadge(ev) {
  if (!ev.reason) return null;
  const since = ev.reason.endsWith("since dismissed");
  return el("span", { class: "badge realert" + (since ? " since-dismissed" : ""),
    title: ev.parent_id ? t("realert.follows", { id: ev.parent_id }) : null }, realertText(ev));
}

function realertText(ev) {
  return ev.reason ? t("realert." + ev.reason.replaceAll(" ", "_")) : "";
}

function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: "toast " + kind, role: "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}
