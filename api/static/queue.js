// Event queue (live over SSE), event detail with score timeline, confirm/dismiss, alerts.
"use strict";

const ME = { name: "", role: "viewer" };
const CAMERAS = new Map(); // camera id -> camera as in GET /api/cameras
const canDecide = () => ME.role === "operator" || ME.role === "admin";

function withParam(url, key, value) {
  return url + (url.includes("?") ? "&" : "?") + key + "=" + encodeURIComponent(value);
}

// Speaker icons (inline: emoji fonts are missing on many control-room machines).
const ICON_SOUND = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">'
  + '<path d="M4 9v6h4l5 4V5L8 9z" fill="currentColor"/><path d="M16 8.5a5 5 0 0 1 0 7M19 5.5a9 9 0 0 1 0 13"/></svg>';
const ICON_MUTED = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">'
  + '<path d="M4 9v6h4l5 4V5L8 9z" fill="currentColor"/><path d="M16 9l6 6M22 9l-6 6"/></svg>';

// ---- alerts: a WebAudio beep and a flashing top bar per new event; mute kept in localStorage
const Alerts = {
  muted: localStorage.getItem("emberwatch.muted") === "1",
  ctx: null,
  setMuted(muted) {
    this.muted = muted;
    localStorage.setItem("emberwatch.muted", muted ? "1" : "0");
    const button = document.getElementById("mute");
    button.innerHTML = muted ? ICON_MUTED : ICON_SOUND;
    button.title = t(muted ? "sound.off" : "sound.on");
    button.setAttribute("aria-pressed", String(muted));
    button.classList.toggle("muted-on", muted);
  },
  unlock() {
    // Browsers start audio only after a user gesture; the first click or key creates it.
    if (!this.ctx && window.AudioContext) this.ctx = new AudioContext();
    if (this.ctx && this.ctx.state === "suspended") this.ctx.resume();
  },
  beep() {
    if (this.muted || !this.ctx || this.ctx.state !== "running") return;
    const now = this.ctx.currentTime;
    for (const [i, freq] of [880, 660, 880].entries()) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(now + i * 0.18);
      osc.stop(now + i * 0.18 + 0.17);
    }
  },
  notify(ev) {
    this.beep();
    document.body.classList.remove("alerting");
    void document.body.offsetWidth; // restart the animation
    document.body.classList.add("alerting");
    const what = { cls: clsLabel(ev.cls), camera: ev.camera_name, why: realertText(ev) };
    toast(t(ev.reason ? "alert.realert" : "alert.new", what), "alert");
  },
};

// ---- the queue
const Queue = {
  events: new Map(),
  filter: "open",
  selected: null,
  detail: null,
  clean: false,
  kind: null, // snapshot kind shown; null: peak if any
  armed: null, // "confirm" | "dismiss" while waiting for Enter
  fresh: new Set(),

  async load() {
    const query = this.filter === "open" ? "?status=open&limit=200" : "?limit=200";
    const page = await api("/api/events" + query);
    this.events = new Map(page.items.map((ev) => [ev.id, ev]));
    if (this.selected !== null && !this.events.has(this.selected) && this.detail) {
      this.events.set(this.selected, this.detail);
    }
    this.render();
    if (this.selected === null && page.items.length) this.select(this.sorted()[0].id);
  },

  sorted() {
    return [...this.events.values()].sort(
      (a, b) => b.started_at.localeCompare(a.started_at) || b.id - a.id);
  },

  onChange({ change, event }) {
    const known = this.events.has(event.id);
    if (!known && this.filter === "open" && event.status !== "open") return;
    this.events.set(event.id, event);
    if (change === "opened" && !known) {
      this.fresh.add(event.id);
      Alerts.notify(event);
      if (this.selected === null) this.selected = event.id;
    }
    this.render();
    if (event.id === this.selected) this.refreshDetail();
  },

  render() {
    const list = document.getElementById("queue-list");
    const items = this.sorted();
    list.replaceChildren(...items.map((ev) => this.item(ev)));
    document.getElementById("queue-empty").hidden = items.length > 0;
    const open = items.filter((ev) => ev.status === "open").length;
    const badge = document.getElementById("open-count");
    badge.hidden = open === 0;
    badge.textContent = String(open);
    document.title = (open ? `(${open}) ` : "") + "Emberwatch";
  },

  item(ev) {
    const thumb = ev.snapshot_url
      ? el("img", { class: "thumb", alt: "", loading: "lazy",
        src: withParam(ev.snapshot_url, "v", ev.peak_score) })
      : el("div", { class: "thumb" });
    const node = el("li", {
      class: `ev s-${ev.status}` + (ev.id === this.selected ? " selected" : "")
        + (this.fresh.has(ev.id) ? " fresh" : ""),
      dataset: { id: ev.id }, onclick: () => this.select(ev.id),
    }, thumb,
    el("div", { class: "meta" },
      el("div", { class: "cam" }, ev.camera_name),
      el("div", { class: "sub" },
        el("span", { class: "badge cls-" + ev.cls }, clsLabel(ev.cls)),
        realertBadge(ev),
        el("span", { class: "score" }, fmtScore(ev.peak_score)),
        el("span", {}, fmtDuration(ev.duration_s)),
        el("time", {}, fmtTime(ev.started_at)))),
    el("div", { class: "side" }, statusBadge(ev.status),
      ev.active ? el("i", { class: "pulse", title: t("detail.active") }) : null));
    this.fresh.delete(ev.id);
    return node;
  },

  select(id) {
    if (this.selected !== id) {
      this.disarm();
      this.kind = null;
    }
    this.selected = id;
    for (const li of document.querySelectorAll("#queue-list .ev")) {
      li.classList.toggle("selected", Number(li.dataset.id) === id);
      if (Number(li.dataset.id) === id) li.scrollIntoView({ block: "nearest" });
    }
    this.refreshDetail();
  },

  move(delta) {
    const items = this.sorted();
    if (!items.length) return;
    const at = items.findIndex((ev) => ev.id === this.selected);
    const next = at < 0 ? 0 : Math.min(items.length - 1, Math.max(0, at + delta));
    this.select(items[next].id);
  },

  async refreshDetail() {
    const id = this.selected;
    if (id === null) return;
    const ev = await api(`/api/events/${id}`);
    if (id !== this.selected) return;
    this.detail = ev;
    this.events.set(id, Object.assign(this.events.get(id) || {}, ev));
    Detail.render(ev);
  },

  arm(action) {
    if (!this.detail || this.detail.status !== "open" || !canDecide()) return;
    this.armed = action;
    Detail.showArmed(action);
  },

  disarm() {
    this.armed = null;
    Detail.showArmed(null);
  },

  async submit(action = this.armed) {
    const ev = this.detail;
    if (!ev || !action || ev.status !== "open") return;
    const note = (document.getElementById("note") || {}).value || "";
    this.disarm();
    try {
      const done = await api(`/api/events/${ev.id}/${action}`, { method: "POST", body: { note } });
      this.events.set(done.id, done);
      this.detail = done;
      this.render();
      Detail.render(done);
      toast(t(action === "confirm" ? "decide.done_confirm" : "decide.done_dismiss", { id: ev.id }));
    } catch (err) {
      toast(t("error.generic", { detail: err.message }), "error");
      this.refreshDetail();
    }
  },
};

// ---- live feed: EventSource reconnects by itself; after a gap the list is reloaded
const Live = {
  source: null,
  connect() {
    this.source = new EventSource("/api/events/stream");
    this.source.addEventListener("open", () => {
      this.set(true);
      Queue.load().catch(() => {});
    });
    this.source.addEventListener("error", () => this.set(false));
    this.source.addEventListener("event", (msg) => Queue.onChange(JSON.parse(msg.data)));
    this.source.addEventListener("resync", () => Queue.load().catch(() => {}));
  },
  set(on) {
    const live = document.getElementById("live");
    live.classList.toggle("on", on);
    live.classList.toggle("off", !on);
    live.querySelector("span").textContent = t(on ? "live.on" : "live.off");
    live.dataset.state = on ? "on" : "off";
  },
};
