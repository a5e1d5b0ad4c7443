// Alerts to departments for the selected event: location, delivery status per department,
// and (operators, confirmed events) the publish form. Self-contained: its strings and styles
// are added here. Hook: the event detail appends Publish.mount(ev) to its side panel.
"use strict";

Object.assign(MESSAGES.en, {
  "pub.title": "Alerts to departments",
  "pub.none": "Not published yet.",
  "pub.publish": "Publish",
  "pub.all": "All",
  "pub.message": "Message to the departments",
  "pub.published": "Published to {n} department(s).",
  "pub.only_confirmed": "Confirm the event to publish it.",
  "pub.no_departments": "No department is set up (admins add them under Departments).",
  "pub.escalated": "Not acknowledged in time: re-sent.",
  "pub.auto": "automatic",
  "pub.attempts": "{n} attempt(s)",
  "pub.next": "next try {time}",
  "pub.bearing": "Bearing {deg}°",
  "pub.location": "Estimated location {lat}, {lon} ({km} km)",
  "pub.map": "Map of cameras and bearings",
  "delivery.queued": "Queued",
  "delivery.delivered": "Delivered",
  "delivery.failing": "Failing",
  "delivery.acknowledged": "Acknowledged",
  "delivery.cancelled": "Cancelled",
});
Object.assign(MESSAGES["zh-CN"], {
  "pub.title": "发送给部门的警报",
  "pub.none": "尚未发布。",
  "pub.publish": "发布",
  "pub.all": "全部",
  "pub.message": "给各部门的消息",
  "pub.published": "已发布给 {n} 个部门。",
  "pub.only_confirmed": "确认事件后才能发布。",
  "pub.no_departments": "尚未设置部门（管理员可在“部门”中添加）。",
  "pub.escalated": "未及时确认收到：已重新发送。",
  "pub.auto": "自动",
  "pub.attempts": "尝试 {n} 次",
  "pub.next": "下次尝试 {time}",
  "pub.bearing": "方位角 {deg}°",
  "pub.location": "估计位置 {lat}, {lon}（{km} 公里）",
  "pub.map": "摄像机与方位图",
  "delivery.queued": "排队中",
  "delivery.delivered": "已送达",
  "delivery.failing": "发送失败",
  "delivery.acknowledged": "已确认收到",
  "delivery.cancelled": "已取消",
});

document.head.append(el("style", {}, `
.pub { margin-top: 18px; }
.pub h2 { margin-bottom: 8px; }
.pub-list { list-style: none; margin: 0 0 10px; padding: 0; }
.pub-list li { display: flex; gap: 8px; align-items: baseline; padding: 3px 0; flex-wrap: wrap; }
.pub-list .err { color: var(--muted); font-size: 12px; flex-basis: 100%; }
.d-delivered { color: #69db7c; } .d-acknowledged { color: #38d9a9; font-weight: 600; }
.d-failing { color: #ff6b6b; font-weight: 600; } .d-queued, .d-cancelled { color: var(--muted); }
.pub-escalated { color: #ff6b6b; margin-bottom: 6px; }
.pub-form label { margin-right: 10px; white-space: nowrap; }
.pub-form textarea { width: 100%; min-height: 3em; margin: 6px 0; }
.pub-map { width: 100%; margin-top: 8px; border-radius: 6px; }
`));

const Publish = {
  REFRESH_MS: 5000,

  // A placeholder filled asynchronously and refreshed while it stays in the page.
  mount(ev) {
    const box = el("section", { class: "pub", id: "publish-panel" });
    const refresh = () => this.fill(box, ev).catch((err) => toast(err.message, "error"));
    refresh();
    const timer = setInterval(() => (box.isConnected ? this.refreshStatus(box, ev) : clearInterval(timer)),
      this.REFRESH_MS);
    return box;
  },

  async fill(box, ev) {
    const [deliveries, loc, departments] = await Promise.all([
      api(`/api/events/${ev.id}/deliveries`),
      api(`/api/events/${ev.id}/location`),
      canDecide() ? api("/api/publish/departments") : Promise.resolve([]),
    ]);
    // Parts that do not apply are null: left out (replaceChildren would show them as "null").
    box.replaceChildren(...[
      el("h2", {}, t("pub.title")),
      this.location(loc, ev),
      el("div", { class: "pub-status" }, this.status(deliveries)),
      this.form(ev, departments, box)].filter((part) => part !== null));
  },

  async refreshStatus(box, ev) {
    const slot = box.querySelector(".pub-status");
    if (!slot) return;
    const deliveries = await api(`/api/events/${ev.id}/deliveries`).catch(() => null);
    if (deliveries) slot.replaceChildren(this.status(deliveries));
  },

  location(loc, ev) {
    if (loc.bearing_deg === null) return null;
    const lines = [el("div", {}, t("pub.bearing", { deg: loc.bearing_deg.toFixed(1) }))];
    if (loc.latitude !== null) {
      lines.push(el("div", {}, t("pub.location", {
        lat: loc.latitude.toFixed(5), lon: loc.longitude.toFixed(5),
        km: loc.distance_km.toFixed(1) })));
    }
    const slot = el("div", { class: "pub-map-slot" });
    this.map(slot, ev, loc).catch(() => slot.replaceChildren(this.schematic()));
    lines.push(slot);
    return el("div", { class: "pub-location" }, lines);
  },

  schematic() {
    return el("img", { class: "pub-map", src: "/api/map.svg?hours=24", alt: t("pub.map") });
  },

  // The slippy map (map.js) when it is available, else the schematic.
  async map(slot, ev, loc) {
    if (!(await EventMap.ready())) {
      slot.replaceChildren(this.schematic());
      return;
    }
    const rays = [{ camera: CAMERAS.get(ev.camera_id), bearing: loc.bearing_deg }];
    if (loc.paired_event_id !== null) {
      const [other, where] = await Promise.all([api(`/api/events/${loc.paired_event_id}`),
        api(`/api/events/${loc.paired_event_id}/location`)]);
      rays.push({ camera: CAMERAS.get(other.camera_id), bearing: where.bearing_deg });
    }
    const placed = rays.filter((r) => r.camera && r.camera.latitude !== null && r.bearing !== null);
    if (!placed.length) {
      slot.replaceChildren(this.schematic());
      return;
    }
    const fix = loc.latitude !== null ? [loc.latitude, loc.longitude] : null;
    await EventMap.render(slot, placed, fix);
  },

  status(body) {
    if (!body.deliveries.length) return el("div", { class: "muted" }, t("pub.none"));
    const items = body.deliveries.map((d) => {
      const bits = [
        el("b", {}, d.department),
        el("span", { class: "d-" + d.status }, t("delivery." + d.status)),
        d.automatic ? el("span", { class: "muted" }, t("pub.auto")) : null,
        el("span", { class: "muted" }, t("pub.attempts", { n: d.attempts })),
      ];
      if (d.status === "failing") {
        bits.push(el("span", { class: "err" }, d.last_error || "",
          d.next_attempt_at ? " · " + t("pub.next", { time: fmtTime(d.next_attempt_at) }) : ""));
      }
      return el("li", { class: "delivery", dataset: { status: d.status } }, bits);
    });
    return el("div", {},
      body.escalated ? el("div", { class: "pub-escalated" }, t("pub.escalated")) : null,
      el("ul", { class: "pub-list" }, items));
  },

  form(ev, departments, box) {
    if (!canDecide()) return null;
    if (ev.status !== "confirmed") return el("div", { class: "muted" }, t("pub.only_confirmed"));
    const usable = departments.filter((d) => d.enabled);
    if (!usable.length) return el("div", { class: "muted" }, t("pub.no_departments"));
    const boxes = usable.map((d) => el("input", { type: "checkbox", value: d.id, checked: true }));
    const all = el("input", { type: "checkbox", checked: true,
      onchange: () => boxes.forEach((b) => { b.checked = all.checked; }) });
    const message = el("textarea", { maxlength: "2000", placeholder: t("pub.message") });
    const send = el("button", { type: "button", class: "confirm", id: "publish" }, t("pub.publish"));
    send.addEventListener("click", async () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => Number(b.value));
      const departmentsSel = chosen.length === boxes.length ? "all" : chosen;
      send.disabled = true;
      try {
        const pub = await api(`/api/events/${ev.id}/publish`, {
          method: "POST", body: { departments: departmentsSel, message: message.value } });
        toast(t("pub.published", { n: pub.deliveries.length }));
        await this.fill(box, ev);
      } catch (err) {
        toast(err.message, "error");
        send.disabled = false;
      }
    });
    return el("div", { class: "pub-form" },
      el("label", {}, all, " ", t("pub.all")),
      usable.map((d, i) => el("label", {}, boxes[i], " ", d.name)),
      message, send);
  },
};
