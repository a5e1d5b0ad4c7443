// The selected event: large snapshot (annotated or clean), facts, score timeline, decision.
"use strict";

const Detail = {
  // Updates the parts in place: a live update must not wipe the note being typed or the focus.
  render(ev) {
    const box = document.getElementById("detail");
    if (box.dataset.id !== String(ev.id) || !box.querySelector(".detail-body")) {
      box.dataset.id = String(ev.id);
      box.replaceChildren(
        el("div", { class: "detail-head" }),
        el("div", { class: "detail-body" },
          el("div", { class: "snap" }),
          el("div", { class: "side-panel" },
            el("dl", { class: "facts" }),
            el("h2", {}, t("detail.timeline")),
            el("canvas", { id: "timeline", class: "timeline" }),
            el("div", { class: "decide" }),
            el("div", { class: "pub-slot" }))));
    }
    box.querySelector(".detail-head").replaceWith(this.head(ev));
    const snap = this.snapshot(ev);
    const old = box.querySelector(".snap");
    const oldImg = old.querySelector("img");
    const newImg = snap.querySelector("img");
    if (oldImg && newImg && oldImg.getAttribute("src") === newImg.getAttribute("src")) {
      newImg.replaceWith(oldImg); // same picture: keep the loaded one, no flicker
    }
    old.replaceWith(snap);
    box.querySelector(".facts").replaceWith(this.facts(ev, CAMERAS.get(ev.camera_id)));
    box.querySelector(".side-panel h2").textContent = t("detail.timeline");
    drawTimeline(document.getElementById("timeline"), ev.timeline || [], ev.cls);
    const decide = box.querySelector(".decide");
    if (decide.dataset.status !== ev.status || decide.dataset.lang !== I18N.lang) {
      decide.replaceWith(this.decision(ev));
    }
    // Alerts to departments (publish.js): remounted when the status decides what it offers.
    const pub = box.querySelector(".pub-slot");
    if (typeof Publish !== "undefined" && pub.dataset.key !== ev.status + I18N.lang) {
      const panel = Publish.mount(ev);
      panel.classList.add("pub-slot");
      panel.dataset.key = ev.status + I18N.lang;
      pub.replaceWith(panel);
    }
  },

  head(ev) {
    return el("div", { class: "detail-head" },
      el("h1", {}, ev.camera_name),
      el("span", { class: "id" }, "#" + ev.id),
      el("span", { class: "badge cls-" + ev.cls }, clsLabel(ev.cls)),
      realertBadge(ev),
      el("span", { id: "detail-status" }, statusBadge(ev.status)),
      el("span", { class: "muted" }, t(ev.active ? "detail.active" : "detail.ended")));
  },

  snapshot(ev) {
    const snaps = ev.snapshots || [];
    if (!snaps.length) return el("div", { class: "snap empty" }, t("detail.no_snapshot"));
    const snap = snaps.find((s) => s.kind === Queue.kind)
      || snaps.find((s) => s.kind === "peak") || snaps[0];
    const src = withParam(Queue.clean ? snap.clean_url : snap.url, "v", snap.ts);
    const toggle = (label, active, onclick, id) =>
      el("button", { type: "button", id, class: active ? "active" : "", onclick }, label);
    const rerender = () => this.render(Queue.detail);
    return el("div", { class: "snap" },
      el("img", { id: "snapshot", src, alt: ev.camera_name }),
      el("div", { class: "snap-tools" },
        el("div", { class: "seg" },
          toggle(t("detail.annotated"), !Queue.clean, () => { Queue.clean = false; rerender(); }),
          toggle(t("detail.clean"), Queue.clean, () => { Queue.clean = true; rerender(); },
            "toggle-clean")),
        snaps.length > 1 ? el("div", { class: "seg" }, ...snaps.map((s) =>
          toggle(t(s.kind === "peak" ? "detail.peak_frame" : "detail.opened_frame"),
            s === snap, () => { Queue.kind = s.kind; rerender(); }))) : null));
  },

  facts(ev, cam) {
    const rows = [
      [t("detail.camera"), `${ev.camera_name} (${ev.camera_id})`],
      [t("detail.started"), fmtTime(ev.started_at, true)],
      [t("detail.duration"), fmtDuration(ev.duration_s)],
      [t("detail.peak"), fmtScore(ev.peak_score)],
      [t("detail.last"), fmtScore(ev.last_score)],
    ];
    if (cam && cam.latitude !== null && cam.longitude !== null) {
      let where = `${cam.latitude.toFixed(4)}, ${cam.longitude.toFixed(4)}`;
      if (cam.heading_deg !== null) where += " · " + t("detail.heading", { deg: cam.heading_deg });
      rows.splice(1, 0, [t("detail.location"), where]);
    }
    if (ev.parent_id !== null && ev.parent_id !== undefined) {
      const status = ev.parent_status ? " · " + t("status." + ev.parent_status) : "";
      rows.push([t("detail.follows"), el("button", { type: "button", class: "link parent-link",
        onclick: () => Queue.select(ev.parent_id) }, "#" + ev.parent_id + status)]);
    }
    if (ev.status !== "open") {
      rows.push([t("detail.decided"), t("detail.decided_by", {
        status: t("status." + ev.status), who: ev.operator, time: fmtTime(ev.decided_at, true) })]);
    }
    return el("dl", { class: "facts" }, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  },

  decision(ev) {
    const data = { status: ev.status, lang: I18N.lang };
    if (ev.status !== "open") {
      return el("div", { class: "decide", dataset: data },
        ev.note ? el("div", { class: "decided-note" }, ev.note) : null);
    }
    if (!canDecide()) return el("div", { class: "decide muted", dataset: data }, t("decide.viewer"));
    return el("div", { class: "decide", id: "decide", dataset: data },
      el("textarea", { id: "note", maxlength: "2000", placeholder: t("decide.note") }),
      el("div", { id: "armed-hint", class: "armed-hint" }),
      el("div", { class: "buttons" },
        el("button", { id: "confirm", type: "button", class: "confirm",
          onclick: () => Queue.submit("confirm") }, t("decide.confirm") + " (C)"),
        el("button", { id: "dismiss", type: "button", class: "dismiss",
          onclick: () => Queue.submit("dismiss") }, t("decide.dismiss") + " (D)")));
  },

  showArmed(action) {
    const hint = document.getElementById("armed-hint");
    if (!hint) return;
    hint.textContent = action ? t(action === "confirm" ? "decide.armed_confirm" : "decide.armed_dismiss") : "";
    document.getElementById("confirm").classList.toggle("armed", action === "confirm");
    document.getElementById("dismiss").classList.toggle("armed", action === "dismiss");
    if (action) document.getElementById("note").focus();
  },
};

// Smoothed score over time on a canvas: 0..1 on the y axis, the event's span on the x axis.
function drawTimeline(canvas, points, cls) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 320;
  const h = canvas.clientHeight || 150;
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const pad = { l: 30, r: 10, t: 10, b: 22 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#8795a6";
  g.strokeStyle = "#263241";
  g.lineWidth = 1;
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    const y = pad.t + ph * (1 - v);
    g.beginPath();
    g.moveTo(pad.l, y);
    g.lineTo(w - pad.r, y);
    g.stroke();
    g.fillText(v.toFixed(2), 2, y + 4);
  }
  if (!points.length) return;
  const ts = points.map((p) => Date.parse(p.ts));
  const t0 = ts[0];
  const span = Math.max(1000, ts[ts.length - 1] - t0);
  const xy = points.map((p, i) => [pad.l + (pw * (ts[i] - t0)) / span, pad.t + ph * (1 - p.score)]);
  const colour = cls === "flame" ? "#ff7442" : "#a9bdd2";
  const fill = g.createLinearGradient(0, pad.t, 0, pad.t + ph);
  fill.addColorStop(0, cls === "flame" ? "rgba(255,116,66,.35)" : "rgba(169,189,210,.35)");
  fill.addColorStop(1, "rgba(0,0,0,0)");
  g.beginPath();
  g.moveTo(xy[0][0], pad.t + ph);
  for (const [x, y] of xy) g.lineTo(x, y);
  g.lineTo(xy[xy.length - 1][0], pad.t + ph);
  g.closePath();
  g.fillStyle = fill;
  g.fill();
  g.beginPath();
  xy.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
  g.strokeStyle = colour;
  g.lineWidth = 2;
  g.stroke();
  g.fillStyle = colour;
  for (const [x, y] of xy) g.fillRect(x - 2, y - 2, 4, 4);
  g.fillStyle = "#8795a6";
  g.fillText(fmtTime(points[0].ts), pad.l, h - 6);
  const end = fmtTime(points[points.length - 1].ts);
  g.fillText(end, w - pad.r - g.measureText(end).width, h - 6);
}
