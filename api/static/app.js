// Boot: who is logged in, navigation, keyboard shortcuts, language, sound, sign out.
"use strict";

const Views = {
  current: "queue",
  show(name) {
    this.current = name;
    for (const button of document.querySelectorAll("#nav button")) {
      button.classList.toggle("active", button.dataset.view === name);
    }
    for (const view of document.querySelectorAll("main > .view")) {
      view.hidden = view.id !== "view-" + name;
    }
    if (name === "cameras") Wall.start();
    else Wall.stop();
    const loaders = {
      history: () => History.load(),
      stats: () => Stats.load(),
      users: () => Users.load(),
      departments: () => Departments.load(),
    };
    if (loaders[name]) loaders[name]().catch((err) => toast(t("error.generic", { detail: err.message }), "error"));
    history.replaceState(null, "", "#" + name);
  },
};

function onKey(ev) {
  Alerts.unlock();
  if (ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
  const inField = ev.target.matches("input, textarea, select");
  const key = ev.key;
  if (key === "Escape") {
    Queue.disarm();
    if (inField) ev.target.blur();
    return;
  }
  if (Views.current !== "queue") return;
  if (key === "Enter" && Queue.armed && !ev.shiftKey) {
    ev.preventDefault();
    Queue.submit();
    return;
  }
  if (inField) return;
  const actions = {
    j: () => Queue.move(1),
    k: () => Queue.move(-1),
    arrowdown: () => Queue.move(1),
    arrowup: () => Queue.move(-1),
    c: () => Queue.arm("confirm"),
    d: () => Queue.arm("dismiss"),
    t: () => { Queue.clean = !Queue.clean; if (Queue.detail) Detail.render(Queue.detail); },
    m: () => Alerts.setMuted(!Alerts.muted),
    enter: () => { if (Queue.selected === null) Queue.move(0); },
  };
  const action = actions[key.toLowerCase()];
  if (action) {
    ev.preventDefault(); // the key must not also type into the note it focuses
    action();
  }
}

function bindChrome() {
  for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => Views.show(button.dataset.view));
  }
  for (const button of document.querySelectorAll(".queue .seg button")) {
    button.addEventListener("click", () => {
      Queue.filter = button.dataset.filter;
      for (const b of document.querySelectorAll(".queue .seg button")) b.classList.toggle("active", b === button);
      Queue.load();
    });
  }
  document.getElementById("mute").onclick = () => { Alerts.unlock(); Alerts.setMuted(!Alerts.muted); };
  document.getElementById("lang").onclick = () => I18N.toggle();
  document.getElementById("logout").onclick = async () => {
    await api("/api/auth/logout", { method: "POST" }).catch(() => {});
    location.href = "/login";
  };
  document.getElementById("password").onclick = () => document.getElementById("password-dialog").showModal();
  document.getElementById("password-form").addEventListener("submit", async (ev) => {
    if (ev.submitter && ev.submitter.value === "cancel") return;
    ev.preventDefault();
    const f = ev.target.elements;
    const error = ev.target.querySelector(".error");
    try {
      await api("/api/auth/password", { method: "POST", body: { current: f.current.value, new: f.new.value } });
      document.getElementById("password-dialog").close();
      ev.target.reset();
      toast(t("password.saved"));
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", () => Alerts.unlock());
  document.addEventListener("langchange", () => {
    Alerts.setMuted(Alerts.muted);
    Live.set(document.getElementById("live").dataset.state === "on");
    Queue.render();
    if (Queue.detail) Detail.render(Queue.detail);
    Views.show(Views.current);
  });
}

async function boot() {
  I18N.apply();
  Object.assign(ME, await api("/api/auth/me"));
  document.body.dataset.role = ME.role;
  document.getElementById("who").replaceChildren(el("b", {}, ME.name), " · ", t("role." + ME.role));
  for (const node of document.querySelectorAll("[data-role=admin]")) node.hidden = ME.role !== "admin";
  Alerts.setMuted(Alerts.muted);
  bindChrome();
  MaskEditor.bind();
  History.bind();
  Users.bind();
  await Wall.loadCameras().catch(() => {});
  await Queue.load();
  Live.connect();
  const wanted = location.hash.slice(1);
  const adminOnly = ["users", "departments"];
  if (["cameras", "history", "stats"].includes(wanted) || (adminOnly.includes(wanted) && ME.role === "admin")) {
    Views.show(wanted);
  }
}

boot();
