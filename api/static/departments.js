// Departments page (admins): add, enable/disable and delete alert recipients. Renders into
// <section id="view-departments">; Views' loaders call Departments.load(). Strings and
// styles are added here.
"use strict";

Object.assign(MESSAGES.en, {
  "nav.departments": "Departments",
  "dep.title": "Departments that receive alerts",
  "dep.name": "Name",
  "dep.url": "Webhook URL",
  "dep.format": "Webhook sends",
  "dep.format.emberwatch": "Emberwatch JSON (signed)",
  "dep.format.dingtalk": "DingTalk group robot",
  "dep.format.wecom": "WeCom group robot",
  "dep.format.feishu": "Feishu group bot",
  "dep.format.template": "Template (SMS gateway)",
  "dep.email": "or e-mail to (comma-separated)",
  "dep.mqtt": "or MQTT topic",
  "dep.channel": "Webhook, e-mail or MQTT topic",
  "dep.one_channel": "Give exactly one channel: a webhook URL, e-mail addresses or an MQTT topic.",
  "dep.secret": "Secret (16+ characters; DingTalk/Feishu: the robot's signing secret)",
  "dep.escalation": "Re-send after (min)",
  "dep.auto_classes": "Automatic for classes",
  "dep.auto_min": "from score",
  "dep.auto_unconfirmed": "before confirmation",
  "dep.add": "Add department",
  "dep.enabled": "Enabled",
  "dep.delete": "Delete",
  "dep.confirm_delete": "Delete {name}? Its undelivered alerts are cancelled.",
  "dep.none": "No department yet.",
  "dep.auto_off": "off",
});
Object.assign(MESSAGES["zh-CN"], {
  "nav.departments": "部门",
  "dep.title": "接收警报的部门",
  "dep.name": "名称",
  "dep.url": "Webhook 地址",
  "dep.format": "Webhook 类型",
  "dep.format.emberwatch": "Emberwatch JSON（签名）",
  "dep.format.dingtalk": "钉钉群机器人",
  "dep.format.wecom": "企业微信群机器人",
  "dep.format.feishu": "飞书群机器人",
  "dep.format.template": "模板（短信网关）",
  "dep.email": "或发送电子邮件至（逗号分隔）",
  "dep.mqtt": "或 MQTT 主题",
  "dep.channel": "Webhook、电子邮件或 MQTT 主题",
  "dep.one_channel": "请只填写一个渠道：Webhook 地址、电子邮件地址或 MQTT 主题。",
  "dep.secret": "密钥（至少 16 个字符；钉钉或飞书机器人的签名密钥；企业微信无需）",
  "dep.escalation": "未确认时重发（分钟）",
  "dep.auto_classes": "自动发布的类别",
  "dep.auto_min": "最低分数",
  "dep.auto_unconfirmed": "无需人工确认",
  "dep.add": "添加部门",
  "dep.enabled": "启用",
  "dep.delete": "删除",
  "dep.confirm_delete": "删除 {name}？其未送达的警报将被取消。",
  "dep.none": "尚无部门。",
  "dep.auto_off": "关闭",
});

const Departments = {
  async load() {
    const view = document.getElementById("view-departments");
    if (!view) return;
    const rows = await api("/api/departments");
    view.replaceChildren(
      el("div", { class: "panel-head" }, el("h2", {}, t("dep.title"))),
      this.form(),
      rows.length ? this.table(rows) : el("p", { class: "muted" }, t("dep.none")));
  },

  field(label, input) {
    return el("label", {}, el("span", {}, label), input);
  },

  form() {
    const input = (name, attrs = {}) => el("input", { name, ...attrs });
    const form = el("form", { class: "filters", id: "department-form" },
      this.field(t("dep.name"), input("name", { required: true, maxlength: "100" })),
      this.field(t("dep.url"), input("webhook_url", { type: "url", size: "40" })),
      this.field(t("dep.format"), el("select", { name: "webhook_format" },
        ...["emberwatch", "dingtalk", "wecom", "feishu"].map((f) =>
          el("option", { value: f }, t(`dep.format.${f}`))))),
      this.field(t("dep.email"), input("email_to", { size: "30",
        placeholder: "duty@fire.example.org" })),
      this.field(t("dep.mqtt"), input("mqtt_topic", { size: "24", maxlength: "500",
        placeholder: "district/alerts/fire" })),
      this.field(t("dep.secret"), input("secret", { minlength: "16",
        type: "password", autocomplete: "new-password" })),
      this.field(t("dep.escalation"), input("escalation_minutes", { type: "number", min: "1",
        step: "any" })),
      this.field(t("dep.auto_classes"), input("classes", { placeholder: "flame, smoke" })),
      this.field(t("dep.auto_min"), input("min_score", { type: "number", min: "0", max: "1",
        step: "0.05", value: "0.8" })),
      el("label", {}, input("unconfirmed", { type: "checkbox" }), " ", t("dep.auto_unconfirmed")),
      el("button", { class: "primary", type: "submit" }, t("dep.add")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.create(form).catch((err) => toast(err.message, "error"));
    });
    return form;
  },

  async create(form) {
    const f = new FormData(form);
    const classes = String(f.get("classes") || "").split(",").map((c) => c.trim()).filter(Boolean);
    const escalation = f.get("escalation_minutes");
    const webhook = String(f.get("webhook_url") || "").trim();
    const emails = String(f.get("email_to") || "").split(",").map((a) => a.trim()).filter(Boolean);
    const topic = String(f.get("mqtt_topic") || "").trim();
    if ([webhook, emails.length, topic].filter(Boolean).length !== 1) {
      throw new Error(t("dep.one_channel"));
    }
    await api("/api/departments", { method: "POST", body: {
      name: f.get("name"), webhook_url: webhook || null, email_to: emails,
      mqtt_topic: topic || null,
      webhook_format: webhook ? f.get("webhook_format") : "emberwatch",
      secret: f.get("secret") || null,
      escalation_minutes: escalation ? Number(escalation) : null,
      auto_publish: { classes, min_score: Number(f.get("min_score") || 0),
        unconfirmed: f.get("unconfirmed") === "on" },
    } });
    form.reset();
    await this.load();
  },

  table(rows) {
    const auto = (a) => (a.classes.length
      ? `${a.classes.join("/")} ≥ ${a.min_score.toFixed(2)}` +
        (a.cameras.length ? ` · ${a.cameras.join(", ")}` : "") +
        (a.unconfirmed ? ` · ${t("dep.auto_unconfirmed")}` : "")
      : t("dep.auto_off"));
    const body = rows.map((d) => el("tr", { dataset: { id: d.id } },
      el("td", {}, d.name),
      el("td", { class: "muted" }, this.channel(d)),
      el("td", {}, d.escalation_minutes === null ? "–" : String(d.escalation_minutes)),
      el("td", {}, auto(d.auto_publish)),
      el("td", {}, el("input", { type: "checkbox", checked: d.enabled, title: t("dep.enabled"),
        onchange: (ev) => this.update(d.id, { enabled: ev.target.checked }) })),
      el("td", {}, el("button", { type: "button", class: "link",
        onclick: () => this.remove(d) }, t("dep.delete")))));
    return el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, [t("dep.name"), t("dep.channel"), t("dep.escalation"),
        t("dep.auto_classes"), t("dep.enabled"), ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, body));
  },

  channel(d) {
    if (d.webhook_url) {
      const plain = d.webhook_format === "emberwatch";
      return (plain ? "" : `${t(`dep.format.${d.webhook_format}`)}: `) + d.webhook_url;
    }
    return d.email_to.join(", ") || (d.mqtt_topic ? `MQTT ${d.mqtt_topic}` : "");
  },

  async update(id, changes) {
    await api(`/api/departments/${id}`, { method: "PUT", body: changes })
      .catch((err) => toast(err.message, "error"));
    await this.load();
  },

  async remove(dep) {
    if (!window.confirm(t("dep.confirm_delete", { name: dep.name }))) return;
    await api(`/api/departments/${dep.id}`, { method: "DELETE" })
      .catch((err) => toast(err.message, "error"));
    await this.load();
  },
};
