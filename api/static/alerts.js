// The alert ticker: polls GET /api/v1/alerts?store=<id|all>&status=firing every 5 s and
// shows the firing alerts, coloured by severity, acknowledged ones dimmed. Hidden while
// the API has no alerts route (404 Not Found), which it re-checks every minute.

import { getJson, query } from "./api.js";
import { hhmm } from "./format.js";

export const ALERTS_POLL_MS = 5000;
const ABSENT_RETRY_MS = 60000;
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };

/** The alerts of a response body: {"alerts": [...]} or a bare list. */
export function alertsOf(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.alerts)) return body.alerts;
  return [];
}

function severityOf(a) {
  const s = (a.labels && a.labels.severity) || "info";
  return s in SEVERITY_RANK ? s : "info";
}

export function sortAlerts(alerts) {
  return [...alerts].sort((a, b) =>
    (a.ack ? 1 : 0) - (b.ack ? 1 : 0) ||
    SEVERITY_RANK[severityOf(a)] - SEVERITY_RANK[severityOf(b)] ||
    String(b.startsAt || "").localeCompare(String(a.startsAt || "")));
}

/** HH:MM today; with the date on other days ("May 1, 23:40"). */
export function when(ms, now = Date.now()) {
  const d = new Date(ms);
  if (d.toDateString() === new Date(now).toDateString()) return hhmm(ms);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + ", " + hhmm(ms);
}

export class AlertTicker {
  constructor({ section, list, count, scope }) {
    this.section = section;
    this.list = list;
    this.count = count;
    this.scope = scope;
    this.timer = null;
    this.absent = false;
    this.lastError = null;
    this.reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  }

  start() {
    this.poll();
    window.addEventListener("resize", () => this.layout());
  }

  setScope(scope) {
    this.scope = scope;
    this.pollNow();
  }

  pollNow() {
    if (this.timer) clearTimeout(this.timer);
    this.poll();
  }

  async poll() {
    this.timer = null;
    let next = ALERTS_POLL_MS;
    try {
      const r = await getJson("/api/v1/alerts?" + query({ store: this.scope, status: "firing" }));
      if (r.status === 404 && r.body && r.body.detail === "Not Found") {
        this.absent = true;
        next = ABSENT_RETRY_MS;
      } else if (r.ok) {
        this.absent = false;
        this.render(alertsOf(r.body).filter((a) => (a.status || "firing") === "firing"));
      } else if (r.status === 404) {
        this.absent = false; // an unknown store: no alerts for it
        this.render([]);
      } else if (r.status === 401 || r.status === 403) {
        this.absent = false;
        this.render([], "Alerts need an API key");
      }
      this.lastError = r.ok || r.status === 404 ? null : "HTTP " + r.status;
    } catch (e) {
      this.lastError = String(e && e.name || e);
    }
    this.section.hidden = this.absent;
    this.section.dataset.state = this.absent ? "absent" : this.lastError ? "error" : "ok";
    if (!this.timer) this.timer = setTimeout(() => this.poll(), next);
  }

  item(a) {
    const li = document.createElement("li");
    const sev = severityOf(a);
    const store = (a.labels && a.labels.store_id) || "";
    li.className = "alert sev-" + sev + (a.ack ? " acked" : "");
    const badge = document.createElement("span");
    badge.className = "sev";
    badge.textContent = sev;
    const where = document.createElement(store && this.scope === "all" ? "a" : "span");
    where.className = "alert-store";
    where.textContent = store;
    if (where.tagName === "A") where.href = "/?" + query({ store });
    const text = document.createElement("span");
    text.className = "alert-text";
    const summary = (a.annotations && a.annotations.summary) || (a.labels && a.labels.alertname) || "alert";
    text.textContent = summary;
    const since = document.createElement("span");
    since.className = "alert-since";
    const started = Date.parse(a.startsAt);
    since.textContent = Number.isFinite(started) ? "since " + when(started) : "";
    li.append(badge, where, text, since);
    if (a.ack) {
      const ack = document.createElement("span");
      ack.className = "alert-ack";
      ack.textContent = "acked" + (a.ack.by ? " by " + a.ack.by : "");
      li.append(ack);
    }
    if (a.annotations && a.annotations.description) li.title = a.annotations.description;
    return li;
  }

  /** Keyed update: unchanged alerts keep their nodes, so the polite live region only
   * announces what is new. */
  render(alerts, emptyText = "No firing alerts") {
    const sorted = sortAlerts(alerts);
    const old = new Map();
    for (const li of this.list.querySelectorAll("li[data-alert-id]")) old.set(li.dataset.alertId, li);
    const nodes = [];
    for (const a of sorted) {
      const id = String(a.id ?? a.fingerprint ?? JSON.stringify(a.labels || {}));
      const sig = JSON.stringify([this.scope, a.labels, a.annotations, a.startsAt, a.ack, a.status]);
      let li = old.get(id);
      if (!li || li.dataset.sig !== sig) {
        li = this.item(a);
        li.dataset.alertId = id;
        li.dataset.sig = sig;
      }
      nodes.push(li);
    }
    if (!nodes.length) {
      const empty = this.list.querySelector("li.empty") || document.createElement("li");
      empty.className = "empty";
      empty.textContent = emptyText;
      nodes.push(empty);
    }
    const same = nodes.length === this.list.children.length && nodes.every((n, i) => this.list.children[i] === n);
    if (!same) this.list.replaceChildren(...nodes);
    const firing = sorted.filter((a) => !a.ack).length;
    this.count.textContent = sorted.length ? `${firing} firing` + (sorted.length > firing ? `, ${sorted.length - firing} acked` : "") : "";
    this.section.classList.toggle("has-critical", sorted.some((a) => !a.ack && severityOf(a) === "critical"));
    this.layout();
  }

  /** Scroll the ticker slowly back and forth when it overflows (never with reduced motion). */
  layout() {
    const overflow = this.list.scrollWidth - this.list.parentElement.clientWidth;
    const scroll = overflow > 8 && !this.reduceMotion.matches;
    this.list.classList.toggle("scrolling", scroll);
    if (scroll) {
      this.list.style.setProperty("--ticker-shift", `-${overflow}px`);
      this.list.style.setProperty("--ticker-duration", `${Math.max(10, overflow / 40)}s`);
    }
  }
}
