// The wall page: wires the websocket, the REST state, the tiles, the panels and the ticker.
//
// Data flow: /ws/live delivers the latest revision of every minute of the followed store(s)
// (MinuteStore). REST answers (today's rollup with yesterday's comparison, the target, the
// last hour of minutes, the service hour) are re-taken on every (re)connect and store
// switch, and every few seconds; between two REST answers the websocket's changes are added
// on top (model.js, LiveBase), so the numbers move at websocket speed. Marks are taken
// after a websocket "sync" (docs/websocket.md), when every update the REST answer includes
// has arrived, so no update is counted twice.

import { getJson, query, setApiKey } from "./api.js";
import { AlertTicker } from "./alerts.js";
import * as fmt from "./format.js";
import { LiveSocket } from "./live.js";
import {
  LiveBase, MINUTE_KPIS, MINUTE_MS, MinuteStore, Series, change, closedWindow, ratio,
  scopeFilter, shiftedPoints,
} from "./model.js";
import { createSparkline, drawSparkline } from "./sparkline.js";

const DAY_MS = 86400000;
const STALE_MS = 30000;
const TODAY_REFRESH_MS = 15000;
const SERVICE_REFRESH_MS = 30000;
const SERIES_REFRESH_MS = 120000;
const YESTERDAY_REFRESH_MS = 300000;
const STORES_REFRESH_MS = 60000;
const SERIES_MINUTES = 60;
const SPARK_MIN_MINUTES = 15;
const ORDERS_WINDOW_MINUTES = 5;
const MAX_STORE_ROLLUPS = 40;
const NO_TARGET_RECHECK_MS = 300000;
const MAX_STOCK_ROWS = 7;
const BEHIND_AFTER_MS = 60000; // a minute still open this long after its end: inputs lag

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const KEY_STORAGE = "shoppulse.apiKey";

/** A viewer key from ?key= (kept in this browser's storage, then dropped from the URL). */
function loadApiKey() {
  let key = params.get("key");
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else key = localStorage.getItem(KEY_STORAGE);
  } catch (e) { /* storage disabled: the key lives as long as the page */ }
  if (params.has("key")) {
    params.delete("key");
    const q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
  }
  setApiKey(key);
}
loadApiKey();

const state = {
  scope: params.get("store") || "all",
  tv: params.get("tv") === "1",
  stores: [],
  minutes: new MinuteStore(),
  skewMs: 0,
  caughtUp: true,
  lastDataAt: null,
  lastPublishMs: null,
  today: null,
  perStore: null,
  target: null,
  targetNote: "",
  service: null,
  series: null,
  yesterday: null,
  generation: 0,
  storesFetchedAt: 0,
  denied: false,
  noTarget: new Map(), // store -> until when not to ask for its target again
  behind: 0, // minutes that ended a while ago and are still open
};

const serverNow = () => Date.now() + state.skewMs;
const wants = () => scopeFilter(state.scope);

// --- REST ---------------------------------------------------------------------------------

async function fetchStores() {
  state.storesFetchedAt = Date.now();
  const r = await getJson("/api/v1/stores");
  state.denied = r.status === 401 || r.status === 403;
  if (!r.ok) return;
  state.stores = r.body.stores || [];
  renderStoreOptions();
}

function rollupBase(body) {
  return Object.assign({}, body.components);
}

async function fetchToday() {
  const gen = state.generation;
  const scope = state.scope;
  const r = await getJson("/api/v1/kpis?" + query({ store: scope, window: "today" }));
  if (gen !== state.generation) return;
  if (r.status === 404) { state.today = null; state.perStore = null; return; }
  if (!r.ok) return;
  const dayStart = r.body.window_start_ms;
  const currencies = new Set(state.stores.map((s) => s.currency).filter(Boolean));
  const perStore = scope === "all" && r.body.currency === null && currencies.size > 1
    ? await fetchPerStore(dayStart) : null;
  if (!(await synced(gen))) return;
  state.today = {
    body: r.body,
    dayStart,
    dayEnd: dayStart + DAY_MS,
    live: new LiveBase(state.minutes, scope, dayStart, dayStart + DAY_MS, rollupBase(r.body)),
  };
  state.perStore = perStore && new Map([...perStore].map(([id, body]) => [id, {
    body,
    live: new LiveBase(state.minutes, id, dayStart, dayStart + DAY_MS, rollupBase(body)),
  }]));
}

/**
 * Wait until the websocket has delivered every update the server applied before now (so
 * every update a REST answer just received includes is in state.minutes), then the caller
 * takes its marks. False when the scope changed meanwhile.
 */
async function synced(gen) {
  await socket.sync();
  return gen === state.generation;
}

/** All stores in several currencies: each store's day (store -> rollup), so money is
 * summed per currency. */
async function fetchPerStore(dayStart) {
  const ids = state.stores.map((s) => s.store_id).slice(0, MAX_STORE_ROLLUPS);
  const answers = await Promise.all(ids.map((id) =>
    getJson("/api/v1/kpis?" + query({ store: id, window: "today" })).catch(() => null)));
  const out = new Map();
  answers.forEach((r, i) => {
    if (r && r.ok && r.body.window_start_ms === dayStart) out.set(ids[i], r.body);
  });
  return out;
}

async function fetchTarget() {
  const gen = state.generation;
  const scope = state.scope;
  if (scope === "all") { state.target = null; state.targetNote = ""; return; }
  if (state.noTarget.get(scope) > Date.now()) return; // asked recently: none configured
  const r = await getJson("/api/v1/targets?" + query({ store: scope }));
  if (gen !== state.generation) return;
  if (r.ok) {
    if (!(await synced(gen))) return;
    const b = r.body;
    state.target = {
      body: b,
      live: new LiveBase(state.minutes, scope, b.day_start_ms, b.day_end_ms, { gmv_minor: b.gmv_today_minor }),
    };
    state.targetNote = "";
  } else if (r.status >= 400 && r.status < 500) {
    state.target = null;
    state.targetNote = r.status === 404 ? "" : (r.body && r.body.detail) || "";
    if (r.status === 404) state.noTarget.set(scope, Date.now() + NO_TARGET_RECHECK_MS);
  }
}

async function fetchSeries() {
  const gen = state.generation;
  const scope = state.scope;
  const r = await getJson("/api/v1/kpis/history?" + query({ store: scope, minutes: SERIES_MINUTES }));
  if (gen !== state.generation || !(await synced(gen))) return;
  if (r.ok) state.series = new Series(state.minutes, scope, r.body.points, serverNow(), SERIES_MINUTES);
  else if (r.status === 404) state.series = new Series(state.minutes, scope, [], serverNow(), SERIES_MINUTES);
}

async function fetchYesterday() {
  const gen = state.generation;
  const scope = state.scope;
  const end = Math.floor(serverNow() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const from = end - SERIES_MINUTES * MINUTE_MS - DAY_MS;
  const to = end + 15 * MINUTE_MS - DAY_MS;
  const r = await getJson("/api/v1/kpis/history?" + query({ store: scope, from, to }));
  if (gen !== state.generation) return;
  if (r.ok) {
    const shifted = shiftedPoints(r.body.points, DAY_MS);
    state.yesterday = shifted.size ? shifted : null;
  } else if (r.status === 404 || r.status === 422) {
    state.yesterday = null;
  }
}

async function fetchService() {
  const gen = state.generation;
  const r = await getJson("/api/v1/kpis?" + query({ store: state.scope, window: "1h" }));
  if (gen !== state.generation) return;
  if (r.ok) state.service = r.body;
  else if (r.status === 404) state.service = null;
}

function guarded(fn) {
  return () => fn().then(scheduleRender, (e) => console.warn("shoppulse: REST request failed:", e && e.name || e));
}
const refresh = {
  stores: guarded(fetchStores),
  today: guarded(() => fetchToday().then(fetchTarget)),
  series: guarded(fetchSeries),
  yesterday: guarded(fetchYesterday),
  service: guarded(fetchService),
};

async function refreshAll() {
  await refresh.stores(); // today's rollup of all stores needs to know their currencies
  await Promise.all([refresh.today(), refresh.series(), refresh.yesterday(), refresh.service()]);
}

/** Drop minutes that every live base already includes (they only cost memory). */
function pruneMinutes() {
  const bases = [state.today && state.today.live, state.target && state.target.live,
    state.series && state.series.live, ...[...(state.perStore || new Map()).values()].map((e) => e.live)];
  const taken = bases.filter(Boolean).map((b) => b.takenAt);
  if (!taken.length) return;
  state.minutes.prune(serverNow() - (SERIES_MINUTES + 10) * MINUTE_MS, Math.min(...taken));
}

// --- websocket ----------------------------------------------------------------------------

function onMessage(msg) {
  if (typeof msg.server_time_ms === "number") state.skewMs = msg.server_time_ms - Date.now();
  if (typeof msg.caught_up === "boolean") state.caughtUp = msg.caught_up;
  if (msg.type === "snapshot") {
    if (msg.store !== state.scope) return; // an answer to an earlier subscribe
    // Minutes still open besides the latest: they will be revised, so they must be known
    // before a REST base is marked (model.js, LiveBase).
    for (const snap of msg.open_minutes || []) state.minutes.accept(snap);
    let newest = null;
    for (const snap of Object.values(msg.stores || {})) {
      state.minutes.accept(snap);
      if (newest === null || snap.emitted_at_ms > newest) newest = snap.emitted_at_ms;
    }
    if (newest !== null) {
      const at = newest - state.skewMs;
      state.lastDataAt = state.lastDataAt === null ? at : Math.max(state.lastDataAt, at);
    }
    refreshAll();
  } else if (msg.type === "update" && msg.snapshot) {
    const snap = msg.snapshot;
    if (!wants()(snap.store_id)) return;
    if (state.minutes.accept(snap)) {
      state.lastDataAt = Date.now();
      if (!state.stores.some((s) => s.store_id === snap.store_id) && Date.now() - state.storesFetchedAt > 5000) {
        refresh.stores();
      }
    }
  } else if (msg.type === "heartbeat") {
    state.lastPublishMs = msg.last_publish_ms ?? state.lastPublishMs;
  } else if (msg.type === "error") {
    console.warn("shoppulse: the server did not understand a message:", msg.message);
  }
  scheduleRender();
}

function onState() {
  renderStatus();
}

const socket = new LiveSocket({
  path: document.body.dataset.wsPath || "/ws/live",
  store: state.scope,
  onMessage,
  onState,
});

// --- rendering ----------------------------------------------------------------------------

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function setText(el, text) {
  if (el.textContent === text) return false;
  el.textContent = text;
  return true;
}

function setValue(el, text) {
  el.classList.remove("multi");
  if (el.childElementCount) el.replaceChildren();
  if (!setText(el, text)) return;
  el.style.fontSize = "";
  for (let i = 0; i < 6 && el.scrollWidth > el.clientWidth + 1; i++) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    el.style.fontSize = size * 0.9 + "px";
  }
  el.classList.remove("flash");
  void el.offsetWidth;
  el.classList.add("flash");
}

/** "▲ +4.2 % vs yesterday", coloured as good or bad (every wall KPI is higher-is-better). */
function setChange(el, diff, { points = false, what = "vs yesterday" } = {}) {
  el.className = "change";
  el.title = "against the same time yesterday";
  if (diff === null || diff === undefined || !Number.isFinite(diff)) {
    el.classList.add("none");
    setText(el, "no comparison with yesterday");
    return;
  }
  const text = points ? fmt.signedPoints(diff) : fmt.signedPct(diff);
  const flat = text.startsWith("\u00b1");
  const arrow = flat ? "\u25b6" : diff > 0 ? "\u25b2" : "\u25bc";
  el.classList.add(flat ? "flat" : diff > 0 ? "up" : "down", diff > 0 ? "good" : "bad");
  setText(el, `${arrow} ${text} ${what}`);
}

const sparks = new Map();
function spark(kpi) {
  let svg = sparks.get(kpi);
  if (!svg) {
    const host = document.querySelector(`#tile-${kpi} .spark-host`);
    svg = createSparkline(host, `${kpi} per minute, last hour`);
    if (kpi === "gmv" || kpi === "aov") {
      const note = document.createElement("p");
      note.className = "spark-note";
      note.hidden = true;
      note.textContent = "Money per minute needs one currency: pick a store.";
      host.append(note);
    }
    sparks.set(kpi, svg);
  }
  return svg;
}

/** All stores, in several currencies: money is only shown per currency. */
function mixedCurrencies() {
  return state.scope === "all" && state.perStore !== null;
}

function storeCurrency(storeId) {
  const s = state.stores.find((x) => x.store_id === storeId);
  return s ? s.currency : null;
}

function todayValue(name) {
  return state.today ? state.today.live.value(state.minutes, name) : null;
}

function yesterdayKpi(name) {
  const c = state.today && state.today.body.comparisons && state.today.body.comparisons.yesterday;
  return c ? c[name] ?? null : null;
}

/** Money per currency over the stores' days (all stores, several currencies). */
function moneyByCurrency() {
  const groups = new Map();
  for (const [id, entry] of state.perStore || []) {
    const cur = entry.body.currency || storeCurrency(id);
    if (!cur) continue;
    const g = groups.get(cur) || { gmv: 0, orders: 0, gmvYesterday: 0, ordersYesterday: 0, hasYesterday: false };
    g.gmv += entry.live.value(state.minutes, "gmv_minor") ?? 0;
    g.orders += entry.live.value(state.minutes, "orders_paid") ?? 0;
    const y = entry.body.comparisons && entry.body.comparisons.yesterday;
    if (y && y.gmv_minor !== null && y.gmv_minor !== undefined) {
      g.gmvYesterday += y.gmv_minor;
      g.ordersYesterday += y.orders ?? 0;
      g.hasYesterday = true;
    }
    groups.set(cur, g);
  }
  return [...groups.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

function setMulti(el, lines) {
  el.classList.add("multi");
  el.style.fontSize = "";
  const nodes = lines.map(([main, delta]) => {
    const line = document.createElement("span");
    line.className = "line";
    const m = document.createElement("span");
    m.textContent = main;
    const d = document.createElement("span");
    d.className = "delta " + (delta.startsWith("+") ? "up good" : delta.startsWith(fmt.MINUS) ? "down bad" : "none");
    d.textContent = delta || "";
    line.append(m, d);
    return line;
  });
  const text = lines.map((l) => l.join(" ")).join(" | ");
  if (el.dataset.multi === text) return;
  el.dataset.multi = text;
  el.replaceChildren(...nodes);
}

function renderGmv(rows, from, to) {
  const valueEl = $("gmv-value");
  const changeEl = $("gmv-change");
  const targetEl = $("gmv-target");
  const t = state.target;
  if (state.scope === "all" && state.perStore) {
    const groups = moneyByCurrency();
    setMulti(valueEl, groups.map(([cur, g]) => [
      fmt.money(g.gmv, cur),
      g.hasYesterday ? fmt.signedPct(change(g.gmv, g.gmvYesterday)) : "",
    ]));
    setText(changeEl, groups.some(([, g]) => g.hasYesterday)
      ? "per currency, vs yesterday" : "per currency; no comparison with yesterday");
    changeEl.className = "change none";
  } else {
    const currency = (state.today && state.today.body.currency) || storeCurrency(state.scope);
    const gmv = t ? t.live.value(state.minutes, "gmv_minor") : todayValue("gmv_minor");
    delete valueEl.dataset.multi;
    setValue(valueEl, state.today || t ? fmt.money(gmv, t ? t.body.currency : currency) : fmt.DASH);
    // The same window as the number: the store's local day so far with a target (the
    // target's own yesterday), else the UTC day's comparison.
    const before = t ? (t.body.gmv_yesterday_minor ?? null) : yesterdayKpi("gmv_minor");
    setChange(changeEl, change(gmv, before));
  }
  targetEl.hidden = !t;
  const foot = $("gmv-foot");
  setText(foot, `since 00:00 ${t ? t.body.timezone : "UTC"}` +
    (state.targetNote ? " \u00b7 target not usable (details on hover)" : ""));
  foot.title = state.targetNote;
  if (t) {
    const b = t.body;
    const gmv = t.live.value(state.minutes, "gmv_minor");
    const attainment = b.target_minor > 0 ? gmv / b.target_minor : null;
    const meter = targetEl.querySelector(".meter");
    meter.setAttribute("aria-valuenow", String(Math.round((attainment ?? 0) * 100)));
    meter.setAttribute("aria-valuetext", `${fmt.pct(attainment, 0)} of target, ${fmt.pct(b.expected_share, 0)} expected by now`);
    meter.querySelector(".fill").style.width = Math.min(100, (attainment ?? 0) * 100) + "%";
    meter.querySelector(".expected").style.left = `calc(${Math.min(100, b.expected_share * 100)}% - 1px)`;
    const projected = b.projected_minor !== null && b.expected_share > 0 ? gmv / b.expected_share : null;
    const pace = targetEl.querySelector(".pace");
    const status = document.createElement("span");
    status.className = "status-" + b.status;
    status.textContent = b.status.replace("_", " ");
    const rest = ` · ${fmt.pct(attainment, 0)} of ${fmt.money(b.target_minor, b.currency)} · ${fmt.pct(b.expected_share, 0)} expected by now` +
      (projected !== null ? ` · projected ${fmt.money(projected, b.currency)}` : "");
    if (pace.dataset.text !== b.status + rest) {
      pace.dataset.text = b.status + rest;
      pace.replaceChildren(status, document.createTextNode(rest));
    }
    pace.title = b.summary;
  }
  const gmvRows = mixedCurrencies() ? [] : rows.map((r) => ({ start: r.start, value: MINUTE_KPIS.gmv(r.values), open: r.open }));
  drawSparkline(spark("gmv"), gmvRows, from, to, mixedCurrencies() ? null : mapOf(MINUTE_KPIS.gmv), "GMV per minute, last hour" + openNote(rows));
}

function mapOf(fn) {
  if (!state.yesterday) return null;
  const out = new Map();
  for (const [start, v] of state.yesterday) out.set(start, fn(v));
  return out;
}

function openNote(rows) {
  return rows.length && rows[rows.length - 1].open ? "; the latest minute is still open (provisional)" : "";
}

function renderTiles() {
  const now = serverNow();
  const end = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const rows = state.series ? state.series.minutes(state.minutes, now) : [];
  // The sparklines span the last hour, or less while fewer minutes are held (at least 15).
  const first = rows.length ? rows[0].start : end;
  const from = Math.min(end - SPARK_MIN_MINUTES * MINUTE_MS, Math.max(end - SERIES_MINUTES * MINUTE_MS, first));
  const yesterday = state.yesterday;
  renderGmv(rows, from, end);

  for (const kpi of ["gmv", "aov"]) {
    const svg = spark(kpi);
    svg.style.display = mixedCurrencies() ? "none" : "";
    svg.parentElement.querySelector(".spark-note").hidden = !mixedCurrencies();
  }

  // Orders per minute: the mean of the last 5 closed minutes.
  const w5 = state.series ? closedWindow(rows, ORDERS_WINDOW_MINUTES, now, yesterday) : null;
  setValue($("orders-value"), w5 ? fmt.count(w5.values.orders_paid / w5.n, 1) : fmt.DASH);
  setChange($("orders-change"), w5 && w5.yesterday ? change(w5.values.orders_paid, w5.yesterday.orders_paid) : null);
  const open = rows.length && rows[rows.length - 1].open ? rows[rows.length - 1] : null;
  setText($("orders-foot"), `last ${ORDERS_WINDOW_MINUTES} full minutes` + (open ? ` · open minute ${fmt.count(open.values.orders_paid)} so far` : ""));
  drawSparkline(spark("orders"), rows.map((r) => ({ start: r.start, value: r.values.orders_paid, open: r.open })),
    from, end, mapOf(MINUTE_KPIS.orders), "Paid orders per minute, last hour" + openNote(rows));

  // AOV over today.
  const aovEl = $("aov-value");
  if (state.scope === "all" && state.perStore) {
    setMulti(aovEl, moneyByCurrency().map(([cur, g]) => [
      fmt.money(ratio(g.gmv, g.orders), cur),
      g.hasYesterday ? fmt.signedPct(change(ratio(g.gmv, g.orders), ratio(g.gmvYesterday, g.ordersYesterday))) : "",
    ]));
    setText($("aov-change"), $("gmv-change").textContent);
    $("aov-change").className = "change none";
  } else {
    delete aovEl.dataset.multi;
    const currency = (state.today && state.today.body.currency) || storeCurrency(state.scope);
    const aov = ratio(todayValue("gmv_minor"), todayValue("orders_paid"));
    setValue(aovEl, fmt.money(aov, currency));
    setChange($("aov-change"), change(aov, yesterdayKpi("aov_minor")));
  }
  const aovRows = mixedCurrencies() ? [] : rows.map((r) => ({ start: r.start, value: MINUTE_KPIS.aov(r.values), open: r.open }));
  drawSparkline(spark("aov"), aovRows, from, end, mixedCurrencies() ? null : mapOf(MINUTE_KPIS.aov),
    "Average order value per minute, last hour" + openNote(rows));

  // Visitors in the last closed minute.
  const w1 = state.series ? closedWindow(rows, 1, now, yesterday) : null;
  setValue($("visitors-value"), w1 ? fmt.count(w1.values.visitors) : fmt.DASH);
  setChange($("visitors-change"), w1 && w1.yesterday ? change(w1.values.visitors, w1.yesterday.visitors) : null);
  setText($("visitors-foot"), w1 ? `minute ${fmt.hhmm(w1.lastStart)}` + (open ? ` · open minute ${fmt.count(open.values.visitors)} so far` : "") : "last full minute");
  drawSparkline(spark("visitors"), rows.map((r) => ({ start: r.start, value: r.values.visitors, open: r.open })),
    from, end, mapOf(MINUTE_KPIS.visitors), "Visitors per minute, last hour" + openNote(rows));

  // Payment conversion over today (REST: sessions are distinct counts).
  const conv = state.today ? state.today.body.kpis.payment_conversion : null;
  setValue($("conversion-value"), fmt.pct(conv, 2));
  const convY = yesterdayKpi("payment_conversion");
  setChange($("conversion-change"), conv !== null && convY !== null ? conv - convY : null, { points: true });
  drawSparkline(spark("conversion"), rows.map((r) => ({ start: r.start, value: MINUTE_KPIS.conversion(r.values), open: r.open })),
    from, end, mapOf(MINUTE_KPIS.conversion), "Payment conversion per minute, last hour" + openNote(rows));
}

const FUNNEL = [
  ["impressions", "Impressions", null],
  ["product_views", "Product views", "impressions"],
  ["add_to_cart", "Add to cart", "product_views"],
  ["checkouts", "Checkout", "add_to_cart"],
  ["orders_paid", "Paid orders", "checkouts"],
];

function renderFunnel() {
  const list = $("funnel-steps");
  const values = Object.fromEntries(FUNNEL.map(([k]) => [k, todayValue(k)]));
  if (list.children.length !== FUNNEL.length) {
    list.replaceChildren(...FUNNEL.map(([k, name]) => {
      const li = document.createElement("li");
      li.dataset.step = k;
      li.innerHTML = '<span class="step-name"></span><span class="step-count"></span><span class="step-rate"></span><span class="step-bar"><span></span></span>';
      li.querySelector(".step-name").textContent = name;
      return li;
    }));
  }
  FUNNEL.forEach(([k, , prev], i) => {
    const li = list.children[i];
    const rate = prev ? ratio(values[k], values[prev]) : values[k] ? 1 : null;
    setText(li.querySelector(".step-count"), fmt.count(values[k]));
    setText(li.querySelector(".step-rate"), prev ? fmt.pct(rate, 1) : "");
    li.querySelector(".step-bar span").style.width = Math.min(100, (rate ?? 0) * 100) + "%";
    li.querySelector(".step-rate").title = prev ? `${FUNNEL[i][1]} / ${FUNNEL[i - 1][1].toLowerCase()}` : "";
  });
}

function mark(ok) {
  const span = document.createElement("span");
  span.className = "mark " + (ok ? "ok" : "miss");
  span.textContent = ok ? "\u2713 on mark" : "\u2717 below mark";
  return span;
}

function renderService() {
  const k = state.service ? state.service.kpis : {};
  const facts = [
    ["First response (median)", fmt.seconds(k.first_response_p50_s), null],
    ["First response (p90)", fmt.seconds(k.first_response_p90_s), k.first_response_p90_s == null ? null : k.first_response_p90_s <= 30],
    ["Answered within 30 s", fmt.pct(k.first_response_within_30s, 0), null],
    ["Resolution rate", fmt.pct(k.resolution_rate, 0), k.resolution_rate == null ? null : k.resolution_rate >= 0.9],
    ["CSAT (4\u20135 stars)", fmt.pct(k.csat_share, 0), null],
    ["CSAT (mean)", k.csat_mean == null ? fmt.DASH : k.csat_mean.toFixed(2) + " / 5", null],
    ["Conversations", fmt.count(k.conversations), null],
  ];
  const dl = $("service-facts");
  const sig = JSON.stringify(facts);
  if (dl.dataset.sig === sig) return;
  dl.dataset.sig = sig;
  dl.replaceChildren(...facts.flatMap(([name, value, ok]) => {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (ok !== null) dd.append(mark(ok));
    return [dt, dd];
  }));
}

function renderStock() {
  const list = $("stock-list");
  const latest = [...state.minutes.latestByStore().values()].filter((s) => wants()(s.store_id));
  const tracked = latest.filter((s) => (s.components.skus_tracked ?? 0) > 0);
  const warn = tracked
    .filter((s) => (s.components.stock_out_skus ?? 0) + (s.components.low_stock_skus ?? 0) > 0)
    .sort((a, b) => (b.components.stock_out_skus - a.components.stock_out_skus) || (b.components.low_stock_skus - a.components.low_stock_skus));
  const items = warn.map((s) => {
    const li = document.createElement("li");
    const name = document.createElement(state.scope === "all" ? "a" : "span");
    name.textContent = s.store_id;
    if (state.scope === "all") name.href = "/?" + query({ store: s.store_id });
    const detail = document.createElement("span");
    const out = s.components.stock_out_skus ?? 0;
    const low = s.components.low_stock_skus ?? 0;
    const outEl = document.createElement("span");
    outEl.className = out ? "out" : "ok";
    outEl.textContent = `${out} out of stock`;
    const lowEl = document.createElement("span");
    lowEl.className = low ? "low" : "ok";
    lowEl.textContent = `${low} low`;
    detail.append(outEl, document.createTextNode(" \u00b7 "), lowEl);
    li.append(name, detail);
    return li;
  });
  if (items.length > MAX_STOCK_ROWS) {
    const more = items.length - (MAX_STOCK_ROWS - 1);
    items.length = MAX_STOCK_ROWS - 1;
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = `+ ${more} more stores with warnings`;
    items.push(li);
  }
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "none";
    const skus = tracked.reduce((n, s) => n + s.components.skus_tracked, 0);
    li.textContent = tracked.length ? `No stock warnings (${fmt.count(skus)} SKUs tracked)` : "No stock data yet";
    items.push(li);
  }
  const sig = items.map((li) => li.textContent).join("|");
  if (list.dataset.sig !== sig) {
    list.dataset.sig = sig;
    list.replaceChildren(...items);
  }
}

function staleness() {
  if (state.lastDataAt === null) return null;
  const since = state.lastDataAt;
  if (socket.state !== "connected") return { kind: "stale", since };
  if (Date.now() - since <= STALE_MS) return null;
  const pipelineAlive = state.lastPublishMs !== null && serverNow() - state.lastPublishMs < STALE_MS;
  return { kind: pipelineAlive && state.scope !== "all" ? "quiet" : "stale", since };
}

function renderStatus() {
  const conn = $("conn");
  const denied = socket.state !== "connected" && (state.denied || socket.denied);
  conn.dataset.state = denied ? "offline" : socket.state;
  const retry = socket.nextRetryAt ? Math.max(0, Math.ceil((socket.nextRetryAt - Date.now()) / 1000)) : null;
  const text = {
    connecting: "connecting\u2026",
    connected: "connected",
    reconnecting: "reconnecting\u2026",
    offline: "offline",
  }[socket.state];
  setText(conn, denied ? "no access" : text);
  // The countdown stays out of the live region: it would be read out every second.
  setText($("retry"), socket.state !== "connected" && retry !== null ? `retry in ${retry} s` : "");
  const st = staleness();
  const stale = $("stale");
  stale.hidden = !st;
  if (st) {
    stale.className = "stale" + (st.kind === "quiet" ? " quiet" : "");
    setText(stale, (st.kind === "quiet" ? "no new data since " : "stale since ") + fmt.clock(st.since));
  }
  document.body.dataset.stale = st ? st.kind : "";
  $("access").hidden = !denied;
  // Minutes that ended a while ago but are still provisional: the pipeline is behind.
  const behind = state.minutes.openBefore(serverNow() - BEHIND_AFTER_MS, wants());
  const catching = $("catching-up");
  if (state.behind > 0 && behind === 0) refreshAll(); // caught up: the REST state moved on
  state.behind = behind;
  catching.hidden = state.caughtUp && behind === 0;
  setText(catching, !state.caughtUp ? "server catching up\u2026"
    : `catching up: ${behind} past minute${behind === 1 ? "" : "s"} still incomplete`);
  setText($("clock"), fmt.clock(serverNow()));
}

function render() {
  renderStatus();
  renderTiles();
  renderFunnel();
  renderService();
  renderStock();
}

// --- store selector, TV mode ----------------------------------------------------------------

function renderStoreOptions() {
  const select = $("store");
  const ids = state.stores.map((s) => s.store_id);
  if (state.scope !== "all" && !ids.includes(state.scope)) ids.push(state.scope);
  const wanted = ["all", ...ids];
  const have = [...select.options].map((o) => o.value);
  if (wanted.join("\u0000") !== have.join("\u0000")) {
    select.replaceChildren(...wanted.map((id) => {
      const o = document.createElement("option");
      o.value = id;
      o.textContent = id === "all" ? "All stores" : id + (state.stores.some((s) => s.store_id === id) ? "" : " (no data yet)");
      return o;
    }));
  }
  select.value = state.scope;
}

function setUrl() {
  const q = new URLSearchParams(location.search);
  if (state.scope === "all") q.delete("store"); else q.set("store", state.scope);
  if (state.tv) q.set("tv", "1"); else q.delete("tv");
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
}

function switchScope(scope) {
  if (scope === state.scope) return;
  state.scope = scope;
  state.generation += 1;
  state.today = state.perStore = state.target = state.series = state.yesterday = state.service = null;
  state.lastDataAt = null;
  setUrl();
  document.title = `ShopPulse \u00b7 ${scope === "all" ? "all stores" : scope}`;
  ticker.setScope(scope);
  socket.subscribe(scope); // answered by a snapshot, which refreshes the REST state
  if (socket.state !== "connected") refreshAll();
  scheduleRender();
}

function applyTv() {
  document.documentElement.classList.toggle("tv", state.tv);
  const button = $("tv");
  button.setAttribute("aria-pressed", String(state.tv));
  button.textContent = state.tv ? "Exit TV mode" : "TV mode";
  sparks.clear();
  document.querySelectorAll(".spark-host").forEach((h) => h.replaceChildren());
  scheduleRender();
}

function toggleTv() {
  state.tv = !state.tv;
  applyTv();
  setUrl();
  const fs = document.fullscreenElement;
  if (state.tv && !fs && document.documentElement.requestFullscreen) {
    document.documentElement.requestFullscreen().catch(() => { /* not allowed: TV styles only */ });
  } else if (!state.tv && fs && document.exitFullscreen) {
    document.exitFullscreen().catch(() => {});
  }
}

// --- start ----------------------------------------------------------------------------------

const ticker = new AlertTicker({
  section: $("ticker"),
  list: $("ticker-list"),
  count: $("ticker-count"),
  scope: state.scope,
});

$("store").addEventListener("change", (ev) => switchScope(ev.target.value));
$("tv").addEventListener("click", toggleTv);
document.title = `ShopPulse \u00b7 ${state.scope === "all" ? "all stores" : state.scope}`;
applyTv();
renderStoreOptions();

setInterval(() => {
  renderStatus();
  if (state.today && serverNow() >= state.today.dayEnd) refresh.today();
  scheduleRender();
}, 1000);
setInterval(refresh.today, TODAY_REFRESH_MS);
setInterval(refresh.service, SERVICE_REFRESH_MS);
setInterval(refresh.series, SERIES_REFRESH_MS);
setInterval(refresh.yesterday, YESTERDAY_REFRESH_MS);
setInterval(() => { refresh.stores(); pruneMinutes(); }, STORES_REFRESH_MS);

socket.start();
ticker.start();
refresh.stores();

// For tests and debugging: a read-only view of the page state.
window.shoppulseWall = { state, socket, ticker, refreshAll };
