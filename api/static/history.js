// History with filters and CSV export, operator statistics, user administration.
"use strict";

const PAGE = 50;

const History = {
  offset: 0,
  total: 0,

  params() {
    const form = document.getElementById("history-form");
    const q = new URLSearchParams();
    for (const name of ["camera", "cls", "status"]) {
      const v = form.elements[name].value;
      if (v) q.set(name, v);
    }
    // Dates are local days: from local midnight of "since" to local midnight after "until".
    const since = form.elements.since.value;
    const until = form.elements.until.value;
    if (since) q.set("since", new Date(since + "T00:00:00").toISOString());
    if (until) {
      const end = new Date(until + "T00:00:00");
      end.setDate(end.getDate() + 1);
      q.set("until", end.toISOString());
    }
    return q;
  },

  async load() {
    this.fillCameras();
    const q = this.params();
    document.getElementById("export-csv").href = "/api/export/events.csv?" + q;
    const ds = new URLSearchParams(q);
    ds.delete("cls");
    ds.delete("status");
    document.getElementById("export-dataset").href = "/api/export/dataset.zip?" + ds;
    q.set("limit", PAGE);
    q.set("offset", this.offset);
    const page = await api("/api/events?" + q);
    this.total = page.total;
    document.getElementById("history-rows").replaceChildren(...page.items.map((ev) => this.row(ev)));
    document.getElementById("history-total").textContent = t("history.total", { n: page.total });
    document.getElementById("history-prev").disabled = this.offset === 0;
    document.getElementById("history-next").disabled = this.offset + PAGE >= page.total;
  },

  row(ev) {
    return el("tr", {},
      el("td", {}, ev.snapshot_url ? el("img", { src: ev.snapshot_url, alt: "", loading: "lazy" }) : ""),
      el("td", {}, fmtTime(ev.started_at, true)),
      el("td", {}, ev.camera_name),
      el("td", {}, el("span", { class: "badge cls-" + ev.cls }, clsLabel(ev.cls)), " ", realertBadge(ev)),
      el("td", {}, fmtScore(ev.peak_score)),
      el("td", {}, fmtDuration(ev.duration_s)),
      el("td", {}, statusBadge(ev.status)),
      el("td", {}, ev.operator || ""),
      el("td", { class: "note", title: ev.note || "" }, ev.note || ""));
  },

  fillCameras() {
    const select = document.getElementById("history-form").elements.camera;
    if (select.options.length > 1 || !CAMERAS.size) return;
    for (const cam of CAMERAS.values()) select.append(el("option", { value: cam.id }, cam.name));
  },

  bind() {
    document.getElementById("history-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.offset = 0;
      this.load();
    });
    document.getElementById("history-prev").onclick = () => {
      this.offset = Math.max(0, this.offset - PAGE);
      this.load();
    };
    document.getElementById("history-next").onclick = () => {
      this.offset += PAGE;
      this.load();
    };
  },
};

const Stats = {
  days: 14,

  async load() {
    const offset = -new Date().getTimezoneOffset();
    const s = await api(`/api/stats?days=${this.days}&utc_offset_min=${offset}`);
    document.getElementById("stats-window").textContent = t("stats.window", { days: s.days });
    const tot = s.total;
    const card = (value, key) => el("div", { class: "card" },
      el("div", { class: "v" }, value), el("div", { class: "k" }, t(key)));
    document.getElementById("stats-cards").replaceChildren(
      card(tot.events, "stats.events"),
      card(tot.events_per_day.toFixed(1), "stats.per_day"),
      card(this.pct(tot.dismissed_share), "stats.dismissed_share"),
      card(tot.median_decision_s === null ? "–" : fmtDuration(tot.median_decision_s), "stats.median"),
      card(tot.open, "stats.open"));
    document.getElementById("stats-rows").replaceChildren(...s.cameras.map((c) => this.row(c)));
  },

  pct(x) {
    return x === null ? "–" : Math.round(x * 100) + " %";
  },

  row(c) {
    const peak = Math.max(1, ...c.per_day.map((d) => d.events));
    const bars = el("div", { class: "bars" }, c.per_day.map((d) =>
      el("i", { style: `height:${(100 * d.events) / peak}%`, title: `${d.day}: ${d.events}` })));
    const share = el("div", { class: "share" },
      el("span", {}, this.pct(c.dismissed_share)),
      el("span", { class: "meter" }, el("i", { style: `width:${100 * (c.dismissed_share || 0)}%` })));
    return el("tr", {},
      el("td", {}, c.camera_name),
      el("td", {}, c.events),
      el("td", {}, c.events_per_day.toFixed(1)),
      el("td", {}, bars),
      el("td", {}, share),
      el("td", {}, c.median_decision_s === null ? "–" : fmtDuration(c.median_decision_s)),
      el("td", {}, c.open));
  },
};

const Users = {
  async load() {
    const users = await api("/api/users");
    document.getElementById("user-rows").replaceChildren(...users.map((u) => this.row(u)));
  },

  row(u) {
    const role = el("select", { onchange: (ev) => this.patch(u.name, { role: ev.target.value }) },
      ["viewer", "operator", "admin"].map((r) =>
        el("option", { value: r, selected: r === u.role }, t("role." + r))));
    return el("tr", {},
      el("td", {}, u.name),
      el("td", {}, role),
      el("td", {}, u.has_password ? t("users.password") : t("users.token_only")),
      el("td", {}, u.tokens),
      el("td", {},
        el("button", { type: "button", onclick: () => this.token(u.name) }, t("users.token")), " ",
        u.name === ME.name ? null
          : el("button", { type: "button", onclick: () => this.remove(u.name) }, t("users.delete"))));
  },

  async run(fn) {
    try {
      await fn();
    } catch (err) {
      toast(t("error.generic", { detail: err.message }), "error");
    }
    this.load();
  },

  patch(name, body) {
    return this.run(() => api(`/api/users/${encodeURIComponent(name)}`, { method: "PATCH", body }));
  },

  token(name) {
    return this.run(async () => {
      const out = await api(`/api/users/${encodeURIComponent(name)}/tokens`, { method: "POST", body: {} });
      const box = document.getElementById("token-box");
      box.textContent = t("users.token_shown", { name, token: out.token });
      box.hidden = false;
    });
  },

  remove(name) {
    if (!confirm(t("users.confirm_delete", { name }))) return;
    this.run(() => api(`/api/users/${encodeURIComponent(name)}`, { method: "DELETE" }));
  },

  bind() {
    document.getElementById("user-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = ev.target.elements;
      const body = { name: f.name.value.trim(), role: f.role.value, password: f.password.value || null };
      this.run(async () => {
        await api("/api/users", { method: "POST", body });
        ev.target.reset();
      });
    });
  },
};
