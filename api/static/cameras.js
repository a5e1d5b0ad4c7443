// Camera wall (latest frame, stream state, frame age, lag, muted regions), the service's health
// above it, and the mask editor.
"use strict";

const WALL_REFRESH_MS = 3000;

const Wall = {
  timer: null,
  tiles: new Map(),

  async loadCameras() {
    const cams = await api("/api/cameras");
    CAMERAS.clear();
    for (const cam of cams) CAMERAS.set(cam.id, cam);
    return cams;
  },

  start() {
    this.stop();
    const tick = async () => {
      try {
        const [cams, mutes, health] = await Promise.all(
          [this.loadCameras(), api("/api/mutes"), Health.load()]);
        this.render(cams, mutes);
        Health.render(health);
      } catch (err) {
        if (err.status !== 401) toast(t("error.generic", { detail: err.message }), "error");
      }
    };
    tick();
    this.timer = setInterval(tick, WALL_REFRESH_MS);
  },

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  },

  render(cams, mutes = []) {
    const wall = document.getElementById("wall");
    document.getElementById("wall-empty").hidden = cams.length > 0;
    const ids = new Set(cams.map((c) => c.id));
    for (const [id, tile] of this.tiles) {
      if (!ids.has(id)) { tile.remove(); this.tiles.delete(id); }
    }
    for (const cam of cams) {
      let tile = this.tiles.get(cam.id);
      if (!tile) {
        tile = this.tile(cam);
        this.tiles.set(cam.id, tile);
      }
      wall.append(tile); // keeps the API's order
      this.update(tile, cam);
      Mutes.draw(tile, cam, mutes.filter((m) => m.camera_id === cam.id));
      LookAlikes.draw(tile, cam);
    }
  },

  tile(cam) {
    const masks = ME.role === "admin"
      ? el("button", { type: "button", class: "mask-btn", onclick: () => MaskEditor.open(cam.id) },
        t("cameras.masks"))
      : null;
    return el("div", { class: "tile", dataset: { camera: cam.id } },
      el("header", {}, el("b", {}), el("span", { class: "state" }), masks),
      el("div", { class: "frame" },
        el("img", { alt: "" }),
        svgBox(),
        el("div", { class: "mutes" }),
        el("div", { class: "lookalikes" }),
        el("div", { class: "noframe" }, t("cameras.no_frame")),
        el("span", { class: "mute-count", hidden: true })),
      el("ol", { class: "mute-list" }),
      el("ul", { class: "lookalike-list" }),
      el("footer", {}));
  },

  update(tile, cam) {
    tile.querySelector("header b").textContent = cam.name;
    const state = tile.querySelector(".state");
    // With workers on a bus: a camera whose worker stopped shows it until another reports.
    const shown = cam.handover ? "handover" : cam.state;
    state.className = "state st-" + shown;
    state.textContent = t("state." + shown);
    tile.classList.toggle("st-backoff-tile", cam.state === "backoff");
    tile.classList.toggle("st-handover-tile", Boolean(cam.handover));
    const hasFrame = cam.last_frame_at !== null;
    tile.querySelector(".noframe").hidden = hasFrame;
    if (hasFrame) this.refreshImage(tile.querySelector("img"), cam);
    const svg = tile.querySelector("svg");
    svg.innerHTML = cam.masks.map((poly) =>
      `<polygon class="mask-poly" points="${poly.map(([x, y]) => `${x},${y}`).join(" ")}"/>`).join("");
    const bits = [hasFrame ? t("cameras.age", { age: fmtDuration(cam.last_frame_age_s) })
      : t("cameras.no_frame")];
    if (cam.lag_s !== null) bits.push(t("cameras.lag", { lag: cam.lag_s.toFixed(2) + " s" }));
    bits.push(t("cameras.analysed", { n: cam.counters.analysed.toLocaleString() }));
    for (const [cls, threshold] of Object.entries(cam.thresholds)) {
      const score = cam.scores[cls];
      if (score === undefined) continue;
      bits.push(t("cameras.score", { cls: t("cls." + cls), score: score.toFixed(2),
        threshold: threshold.toFixed(2) }));
    }
    if (cam.masks.length) bits.push(t("cameras.mask_count", { n: cam.masks.length }));
    if (cam.worker) bits.push(t("cameras.worker", { worker: cam.worker }));
    if (cam.last_error && cam.state !== "streaming") bits.push(cam.last_error);
    tile.querySelector("footer").replaceChildren(...bits.map((b) => el("span", {}, b)));
  },

  refreshImage(img, cam) {
    // Load the next frame off-screen and swap it in: no flicker, no broken-image flash.
    const next = new Image();
    next.onload = () => { img.src = next.src; };
    next.src = withParam(cam.latest_url, "t", Date.now());
  },
};

// /healthz above the wall: why the service is degraded, and the recorder's backlog while it
// has one (events are stored late; plain score points may be dropped, never an event).
const Health = {
  async load() {
    try {
      return await api("/healthz");
    } catch (err) {
      if (err.status === 503) return { status: "error", reasons: [], recorder: null };
      throw err;
    }
  },

  render(health) {
    const lines = health.reasons.map((r) => t("health." + r.code, { detail: r.detail }));
    const backlog = health.recorder;
    if (backlog && (backlog.depth > 0 || backlog.dropped > 0)) {
      lines.push(t("health.backlog", {
        depth: backlog.depth, capacity: backlog.capacity, dropped: backlog.dropped,
        age: fmtDuration(backlog.oldest_age_s || 0),
      }));
    }
    const box = document.getElementById("health");
    box.hidden = health.status === "ok" && lines.length === 0;
    const title = health.status === "ok" ? [] : [el("b", {}, t("health." + health.status))];
    box.replaceChildren(...title, ...lines.map((line) => el("div", {}, line)));
  },
};

// Regions muted by dismissals: hatched and numbered on the camera's picture, listed under it
// with who muted them and when; operators can lift them. The count on the picture comes with
// the camera itself, so a muted camera is never silently deaf.
const Mutes = {
  draw(tile, cam, mutes) {
    const count = tile.querySelector(".mute-count");
    const n = cam.muted_regions || 0;
    count.hidden = n === 0;
    count.textContent = t(n === 1 ? "mutes.count_one" : "mutes.count", { n });
    const list = tile.querySelector(".mute-list");
    const key = mutes.map((m) => m.id).join(",") + I18N.lang;
    if (list.dataset.key === key) return; // unchanged: keep the buttons under the pointer
    list.dataset.key = key;
    tile.querySelector(".mutes").replaceChildren(...mutes.map((m, i) => this.box(m, i + 1)));
    list.replaceChildren(...mutes.map((m, i) => this.item(m, i + 1)));
  },

  box(mute, number) {
    const [x0, y0, x1, y1] = mute.box.map((v) => v * 100);
    const style = `left:${x0}%;top:${y0}%;width:${x1 - x0}%;height:${y1 - y0}%`;
    return el("div", { class: "mute-box", style, title: this.who(mute), dataset: { mute: mute.id } },
      el("span", { class: "mute-no" }, number));
  },

  item(mute, number) {
    const lift = canDecide()
      ? el("button", { type: "button", class: "lift-btn", onclick: () => this.lift(mute) },
        t("mutes.lift"))
      : null;
    return el("li", { dataset: { mute: mute.id } },
      el("span", { class: "mute-no" }, number), el("span", {}, this.who(mute)), lift);
  },

  who(mute) {
    const today = new Date(mute.created_at).toDateString() === new Date().toDateString();
    const by = t("mutes.by", { cls: clsLabel(mute.cls), who: mute.created_by,
      time: fmtTime(mute.created_at, !today) });
    if (!mute.fades_at) return by;
    const left = (Date.parse(mute.fades_at) - Date.now()) / 1000;
    return by + " · " + t("mutes.fades", { left: fmtDuration(left) });
  },

  async lift(mute) {
    try {
      await api(`/api/mutes/${mute.id}/lift`, { method: "POST" });
      toast(t("mutes.lifted", { who: mute.created_by }));
    } catch (err) {
      toast(t("error.generic", { detail: err.message }), "error");
    }
    Wall.start();
  },
};

// Regions that have scored above threshold for long without an event (fog, a chimney, glare):
// outlined on the picture, and for admins one click opens the mask editor with the region.
const LookAlikes = {
  draw(tile, cam) {
    const list = tile.querySelector(".lookalike-list");
    const found = cam.look_alikes || [];
    const key = JSON.stringify(found) + I18N.lang;
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    tile.querySelector(".lookalikes").replaceChildren(...found.map((la) => {
      const [x0, y0, x1, y1] = la.box.map((v) => v * 100);
      return el("div", { class: "lookalike-box", title: t("lookalike.title"),
        style: `left:${x0}%;top:${y0}%;width:${x1 - x0}%;height:${y1 - y0}%` });
    }));
    list.replaceChildren(...found.map((la) => el("li", {},
      el("span", {}, t("lookalike.item", { cls: clsLabel(la.cls) })),
      ME.role === "admin"
        ? el("button", { type: "button", class: "propose-btn",
          onclick: () => MaskEditor.open(cam.id, la.box) }, t("lookalike.propose"))
        : null)));
  },
};

const MaskEditor = {
  camera: null,
  polys: [], // closed polygons, normalised [[x, y], ...]
  current: [], // the polygon being drawn
  selected: -1,
  image: null,

  // proposal: a box [x0, y0, x1, y1] added (and selected) as a rectangle to accept or edit.
  async open(cameraId, proposal = null) {
    const cam = CAMERAS.get(cameraId);
    this.camera = cam;
    this.image = null;
    this.polys = cam.masks.map((p) => p.map(([x, y]) => [x, y]));
    this.current = [];
    this.selected = -1;
    if (proposal) {
      const [x0, y0, x1, y1] = proposal;
      this.polys.push([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]);
      this.selected = this.polys.length - 1;
    }
    document.getElementById("mask-title").textContent =
      t(proposal ? "mask.title_proposal" : "mask.title", { camera: cam.name });
    const img = new Image();
    img.onload = () => { this.image = img; this.resize(); };
    img.onerror = () => { this.image = null; this.resize(); };
    img.src = withParam(cam.latest_url, "t", Date.now());
    document.getElementById("mask-editor").showModal();
  },

  resize() {
    const canvas = document.getElementById("mask-canvas");
    canvas.width = this.image ? this.image.naturalWidth : 1280;
    canvas.height = this.image ? this.image.naturalHeight : 720;
    this.draw();
  },

  point(ev) {
    const canvas = ev.target;
    const r = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((ev.clientX - r.left) / r.width), clamp((ev.clientY - r.top) / r.height)];
  },

  click(ev) {
    const [x, y] = this.point(ev);
    const canvas = document.getElementById("mask-canvas");
    const near = (p) => Math.hypot((p[0] - x) * canvas.width, (p[1] - y) * canvas.height) < 14
      * (canvas.width / canvas.getBoundingClientRect().width);
    if (this.current.length >= 3 && near(this.current[0])) return this.close();
    if (!this.current.length) {
      const hit = this.polys.findIndex((poly) => inside(poly, x, y));
      if (hit >= 0) { this.selected = hit; return this.draw(); }
    }
    this.selected = -1;
    this.current.push([x, y]);
    this.draw();
  },

  close() {
    if (this.current.length >= 3) this.polys.push(this.current);
    this.current = [];
    this.draw();
  },

  undo() { this.current.pop(); this.draw(); },
  removeSelected() {
    if (this.selected >= 0) this.polys.splice(this.selected, 1);
    this.selected = -1;
    this.draw();
  },
  clear() { this.polys = []; this.current = []; this.selected = -1; this.draw(); },

  draw() {
    const canvas = document.getElementById("mask-canvas");
    const g = canvas.getContext("2d");
    const W = canvas.width;
    const H = canvas.height;
    g.fillStyle = "#000";
    g.fillRect(0, 0, W, H);
    if (this.image) g.drawImage(this.image, 0, 0, W, H);
    const path = (poly, closed) => {
      g.beginPath();
      poly.forEach(([x, y], i) => (i ? g.lineTo(x * W, y * H) : g.moveTo(x * W, y * H)));
      if (closed) g.closePath();
    };
    g.lineWidth = Math.max(2, W / 500);
    this.polys.forEach((poly, i) => {
      path(poly, true);
      g.fillStyle = i === this.selected ? "rgba(255,77,79,.40)" : "rgba(255,176,32,.30)";
      g.fill();
      g.strokeStyle = i === this.selected ? "#ff4d4f" : "#ffb020";
      g.stroke();
    });
    if (this.current.length) {
      path(this.current, false);
      g.strokeStyle = "#4aa8ff";
      g.stroke();
      for (const [x, y] of this.current) {
        g.fillStyle = "#4aa8ff";
        g.fillRect(x * W - 5, y * H - 5, 10, 10);
      }
    }
  },

  async save() {
    this.close();
    const masks = this.polys.map((poly) => poly.map(([x, y]) => [+x.toFixed(4), +y.toFixed(4)]));
    try {
      const cam = await api(`/api/cameras/${encodeURIComponent(this.camera.id)}/masks`,
        { method: "PUT", body: { masks } });
      CAMERAS.set(cam.id, cam);
      document.getElementById("mask-editor").close();
      toast(t("mask.saved"));
      Wall.start();
    } catch (err) {
      toast(t("error.generic", { detail: err.message }), "error");
    }
  },

  bind() {
    const canvas = document.getElementById("mask-canvas");
    canvas.addEventListener("click", (ev) => this.click(ev));
    canvas.addEventListener("dblclick", (ev) => { ev.preventDefault(); this.close(); });
    document.getElementById("mask-undo").onclick = () => this.undo();
    document.getElementById("mask-delete").onclick = () => this.removeSelected();
    document.getElementById("mask-clear").onclick = () => this.clear();
    document.getElementById("mask-save").onclick = () => this.save();
    document.getElementById("mask-cancel").onclick = () =>
      document.getElementById("mask-editor").close();
    document.getElementById("mask-editor").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") { ev.preventDefault(); this.close(); }
      if (ev.key === "Backspace") { ev.preventDefault(); this.undo(); }
      if (ev.key === "Delete") { ev.preventDefault(); this.removeSelected(); }
    });
  },
};

function svgBox() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 1 1");
  svg.setAttribute("preserveAspectRatio", "none");
  return svg;
}

// Even-odd ray casting: is (x, y) inside the polygon?
function inside(poly, x, y) {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}
