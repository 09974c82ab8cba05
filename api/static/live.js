// The /ws/live client: connects, follows a store, reconnects with capped exponential
// backoff, and reports its state: connecting, connected, reconnecting or offline.
// Protocol: docs/websocket.md.

import { getApiKey } from "./api.js";
import { backoffMs } from "./model.js";

const OFFLINE_AFTER_FAILURES = 5; // about 15 s of failed attempts
const MAX_BACKOFF_MS = 10000;
const MIN_SILENCE_MS = 6000;
const POLICY_VIOLATION = 1008; // the server refused the key (or its absence)

export class LiveSocket {
  /**
   * @param {{path: string, store: string, onMessage: Function, onState: Function}} opts
   */
  constructor({ path, store, onMessage, onState }) {
    this.path = path;
    this.store = store;
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    this.state = "connecting";
    this.failures = 0;
    this.everConnected = false;
    this.lastMessageAt = 0;
    this.silenceMs = 15000;
    this.retryTimer = null;
    this.nextRetryAt = null;
    this.denied = false;
    this.syncSeq = 0;
    this.syncs = new Map(); // sync id -> resolve
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.setState("offline"));
    setInterval(() => this.watchdog(), 1000);
    this.connect();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state, this);
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const key = getApiKey();
    return proto + "//" + location.host + this.path + "?store=" + encodeURIComponent(this.store) +
      (key ? "&key=" + encodeURIComponent(key) : "");
  }

  connect() {
    this.retryTimer = null;
    this.nextRetryAt = null;
    const sock = new WebSocket(this.url());
    this.ws = sock;
    sock.onopen = () => {
      if (this.ws !== sock) return;
      this.failures = 0;
      this.denied = false;
      this.everConnected = true;
      this.lastMessageAt = Date.now();
      this.setState("connected");
    };
    sock.onmessage = (ev) => {
      if (this.ws !== sock) return;
      this.lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg.type === "snapshot" && typeof msg.heartbeat_s === "number") {
        this.silenceMs = Math.max(MIN_SILENCE_MS, 3000 * msg.heartbeat_s);
      }
      if (msg.type === "synced") {
        const resolve = this.syncs.get(msg.id);
        this.syncs.delete(msg.id);
        if (resolve) resolve(true);
        return;
      }
      this.onMessage(msg);
    };
    sock.onclose = (ev) => {
      if (this.ws !== sock) return;
      this.ws = null;
      this.settleSyncs();
      this.denied = ev.code === POLICY_VIOLATION;
      this.scheduleRetry();
    };
    sock.onerror = () => { /* onclose follows and schedules the retry */ };
  }

  scheduleRetry() {
    this.failures += 1;
    const wait = backoffMs(this.failures - 1, MAX_BACKOFF_MS);
    this.nextRetryAt = Date.now() + wait;
    const offline = this.denied || navigator.onLine === false || this.failures > OFFLINE_AFTER_FAILURES;
    this.setState(offline ? "offline" : this.everConnected ? "reconnecting" : "connecting");
    this.onState(this.state, this); // the retry time changed
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  reconnectNow() {
    if (this.ws) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Close a connection that went silent (no message, not even a heartbeat). */
  watchdog() {
    const sock = this.ws;
    if (sock && sock.readyState === WebSocket.OPEN && Date.now() - this.lastMessageAt > this.silenceMs) {
      this.ws = null;
      this.settleSyncs();
      sock.close();
      this.scheduleRetry();
    }
  }

  /**
   * Resolves true once every update the server applied before now has been handed to
   * onMessage (the server answers "synced" behind them), false if that cannot be known
   * (not connected, connection lost, no answer within `timeoutMs`).
   */
  sync(timeoutMs = 5000) {
    const sock = this.ws;
    if (!sock || sock.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    const id = ++this.syncSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.syncs.delete(id); resolve(false); }, timeoutMs);
      this.syncs.set(id, (ok) => { clearTimeout(timer); resolve(ok); });
      sock.send(JSON.stringify({ type: "sync", id }));
    });
  }

  settleSyncs() {
    for (const resolve of this.syncs.values()) resolve(false);
    this.syncs.clear();
  }

  /** Follow another store without reconnecting (a fresh snapshot answers). */
  subscribe(store) {
    this.store = store;
    const sock = this.ws;
    if (sock && sock.readyState === WebSocket.OPEN) {
      sock.send(JSON.stringify({ type: "subscribe", store }));
    }
    // Not open: the next connection asks for ?store= itself.
  }
}
