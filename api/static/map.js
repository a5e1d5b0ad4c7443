// The event's slippy map: cameras, bearing rays and the estimated position, on the tiles of the
// operator's own map server (`map.tile_url` in the configuration). Leaflet is built into
// /static/vendor at install time, never fetched from elsewhere; without it or without tiles the
// console shows the schematic /api/map.svg instead.
"use strict";

document.head.append(el("style", {}, `
.event-map { height: 280px; margin-top: 8px; border-radius: 6px; background: #0e141b;
  isolation: isolate; } /* Leaflet's panes stay below the console's bars and dialogs */
.event-map .leaflet-control-attribution { font-size: 10px; }
`));

const EventMap = {
  LEAFLET: "/static/vendor/leaflet/",
  EARTH_KM: 6371.0088,
  settings: null,

  // True when the slippy map can be drawn: tiles configured and Leaflet loaded.
  async ready() {
    if (this.settings === null) {
      this.settings = api("/api/map/settings")
        .then(async (s) => (s.available ? (await this.loadLeaflet(), s) : s))
        .catch(() => ({ available: false }));
    }
    return (await this.settings).available;
  },

  loadLeaflet() {
    document.head.append(el("link", { rel: "stylesheet", href: this.LEAFLET + "leaflet.css" }));
    return new Promise((resolve, reject) => document.head.append(
      el("script", { src: this.LEAFLET + "leaflet.js", onload: resolve, onerror: reject })));
  },

  // The point `km` from (lat, lon) along `bearing` degrees (great circle).
  destination(lat, lon, bearing, km) {
    const rad = Math.PI / 180, d = km / this.EARTH_KM, b = bearing * rad;
    const p1 = lat * rad, l1 = lon * rad;
    const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
    const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1),
      Math.cos(d) - Math.sin(p1) * Math.sin(p2));
    return [p2 / rad, l2 / rad];
  },

  // rays: [{camera, bearing}] (cameras with a position); fix: [lat, lon] or null.
  async render(slot, rays, fix) {
    const s = await this.settings;
    const box = el("div", { class: "event-map", id: "event-map" });
    slot.replaceChildren(box);
    const map = L.map(box, { scrollWheelZoom: false });
    L.tileLayer(s.tile_url, { maxZoom: s.max_zoom, attribution: s.attribution }).addTo(map);
    const cameras = [], ends = [];
    for (const { camera, bearing } of rays) {
      const at = [camera.latitude, camera.longitude];
      const end = this.destination(at[0], at[1], bearing, s.ray_km);
      L.polyline([at, end], { className: "map-ray", color: "#ffb020", weight: 2 }).addTo(map);
      L.circleMarker(at, { className: "map-camera", radius: 6, color: "#4aa8ff", fillOpacity: 0.9 })
        .bindTooltip(camera.name).addTo(map);
      cameras.push(at);
      ends.push(end);
    }
    if (fix) {
      L.circleMarker(fix, { className: "map-fix", radius: 8, color: "#ff4d4f", fillOpacity: 0.8 })
        .addTo(map);
    }
    // With a fix, the cameras and the fix; without, the whole ray.
    map.fitBounds([...cameras, ...(fix ? [fix] : ends)], {
      paddingTopLeft: [48, 24], paddingBottomRight: [24, 24], maxZoom: 14 }); // clear of the zoom buttons
  },
};
