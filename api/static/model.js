// The wall page's data model: pure functions and small classes, no DOM, no network.
//
// REST answers give a *base* (today's rollup, the last hour of minutes); the websocket
// gives the latest revision of every (store, minute) since it connected. A live value is
// base + the websocket's change of every (store, minute) since the base was taken:
// LiveBase remembers each minute's components at that moment (its "marks"). Bases are
// re-taken every few seconds and on every reconnect, so drift cannot accumulate.

export const MINUTE_MS = 60000;

/** Components the page sums over minutes (additive counters, never levels or distincts). */
export const ADDITIVE = [
  "gmv_minor", "orders_paid", "impressions", "product_views", "add_to_cart", "checkouts",
  "sessions_started", "events",
];
/** Distinct counts: exact per store-minute; used for per-minute series only. */
export const DISTINCT = ["visitors", "sessions"];
const SERIES_FIELDS = [...ADDITIVE, ...DISTINCT];

/** Whether snapshot `next` replaces `old` for the same (store, minute) (as the server). */
export function supersedes(next, old) {
  if (!old || next.revision > old.revision) return true;
  return next.revision === old.revision && next.final && !old.final;
}

const keyOf = (store, start) => store + "\u0000" + start;

/** The latest revision of every (store, minute) the websocket delivered. */
export class MinuteStore {
  constructor() { this.snaps = new Map(); }

  /** Keep `snap` unless an equal or newer revision is held; true when it changed. Only the
   * fields the page reads are kept (a day of minutes of many stores stays small). */
  accept(snap, receivedAt = Date.now()) {
    const key = keyOf(snap.store_id, snap.window_start_ms);
    if (!supersedes(snap, this.snaps.get(key))) return false;
    this.snaps.set(key, {
      store_id: snap.store_id,
      window_start_ms: snap.window_start_ms,
      window_end_ms: snap.window_end_ms,
      final: snap.final,
      revision: snap.revision,
      emitted_at_ms: snap.emitted_at_ms,
      components: snap.components || {},
      receivedAt,
    });
    return true;
  }

  *inRange(fromMs, toMs, wants) {
    for (const [key, snap] of this.snaps) {
      if (snap.window_start_ms >= fromMs && snap.window_start_ms < toMs && wants(snap.store_id)) {
        yield [key, snap];
      }
    }
  }

  /** The most recent minute of every store. */
  latestByStore() {
    const out = new Map();
    for (const snap of this.snaps.values()) {
      const old = out.get(snap.store_id);
      if (!old || snap.window_start_ms > old.window_start_ms) out.set(snap.store_id, snap);
    }
    return out;
  }

  /**
   * Forget final minutes that started before `beforeMs` and arrived before `basedAt` (every
   * live base taken since includes them, so they add nothing); each store's latest stays.
   */
  prune(beforeMs, basedAt) {
    const latest = this.latestByStore();
    for (const [key, snap] of this.snaps) {
      if (snap.window_start_ms < beforeMs && snap.final && snap.receivedAt < basedAt &&
          latest.get(snap.store_id) !== snap) {
        this.snaps.delete(key);
      }
    }
  }

  /** How many minutes of the followed stores ended before `endedBeforeMs` and are still
   * provisional: the pipeline is still reading their inputs (it is behind). */
  openBefore(endedBeforeMs, wants) {
    let n = 0;
    for (const snap of this.snaps.values()) {
      if (!snap.final && snap.window_end_ms < endedBeforeMs && wants(snap.store_id)) n += 1;
    }
    return n;
  }

  get size() { return this.snaps.size; }
}

/** Follows one store or every store ("all"). */
export function scopeFilter(scope) {
  return scope === "all" ? () => true : (storeId) => storeId === scope;
}

/** The named components; a missing one is 0, an unavailable one (null) stays null. */
function pick(components, fields) {
  const out = {};
  for (const f of fields) {
    const v = components ? components[f] : undefined;
    out[f] = v === undefined ? 0 : v;
  }
  return out;
}

/** a + b, null when either is null (a distinct count that cannot be rolled up). */
const add = (a, b) => (a === null || b === null ? null : a + b);

/**
 * A REST total over [fromMs, toMs) of the stores in `scope`, kept live with websocket deltas.
 * `base` maps component names to the REST values (null where REST has none).
 */
export class LiveBase {
  constructor(minutes, scope, fromMs, toMs, base, fields = ADDITIVE) {
    this.scope = scope;
    this.wants = scopeFilter(scope);
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.base = base;
    this.fields = fields;
    this.takenAt = Date.now();
    this.marks = new Map();
    for (const [key, snap] of minutes.inRange(fromMs, toMs, this.wants)) {
      this.marks.set(key, pick(snap.components, fields));
    }
  }

  /** base + the change of every in-range minute since the base was taken. */
  value(minutes, name) {
    const base = this.base[name];
    if (base === null || base === undefined) return null;
    let total = base;
    for (const [key, snap] of minutes.inRange(this.fromMs, this.toMs, this.wants)) {
      const mark = this.marks.get(key);
      total += (snap.components[name] ?? 0) - (mark ? mark[name] : 0);
    }
    return total;
  }
}

/**
 * Per-minute series of the last `count` minutes ending with the minute that holds `nowMs`:
 * history points (REST) + websocket deltas, each minute flagged `open` (provisional) when
 * the minute has not ended or a contributing snapshot is not final.
 */
export class Series {
  constructor(minutes, scope, points, nowMs, count = 60) {
    const end = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    this.count = count;
    this.points = new Map();
    for (const p of points || []) {
      this.points.set(p.window_start_ms, { components: pick(p.components, SERIES_FIELDS), final: p.final });
    }
    const from = end - count * MINUTE_MS;
    this.live = new LiveBase(minutes, scope, from, Number.MAX_SAFE_INTEGER, {}, SERIES_FIELDS);
  }

  /** [{start, values: {component: n}, open}] oldest first, up to the minute holding nowMs. */
  minutes(minutes, nowMs) {
    const end = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const from = end - this.count * MINUTE_MS;
    const rows = new Map();
    for (const [start, p] of this.points) {
      if (start >= from && start < end) {
        rows.set(start, { start, values: { ...p.components }, open: !p.final, fromWs: false });
      }
    }
    for (const [key, snap] of minutes.inRange(from, end, this.live.wants)) {
      const start = snap.window_start_ms;
      let row = rows.get(start);
      if (!row) {
        row = { start, values: pick(null, SERIES_FIELDS), open: false, fromWs: true };
        rows.set(start, row);
      }
      const mark = this.live.marks.get(key);
      for (const f of SERIES_FIELDS) {
        row.values[f] = add(row.values[f], (snap.components[f] ?? 0) - (mark ? mark[f] ?? 0 : 0));
      }
      if (!row.fromWs) { row.open = false; row.fromWs = true; }
      if (!snap.final) row.open = true;
    }
    for (const row of rows.values()) {
      if (row.start + MINUTE_MS > nowMs) row.open = true;
    }
    return [...rows.values()].sort((a, b) => a.start - b.start);
  }
}

/** Yesterday's minutes (REST history shifted by one day), keyed by today's minute start. */
export function shiftedPoints(points, shiftMs) {
  const out = new Map();
  for (const p of points || []) {
    out.set(p.window_start_ms + shiftMs, pick(p.components, SERIES_FIELDS));
  }
  return out;
}

export function ratio(num, den) {
  if (num === null || den === null || num === undefined || den === undefined) return null;
  return den > 0 ? num / den : null;
}

/** The derived per-minute values the sparklines show. */
export const MINUTE_KPIS = {
  gmv: (v) => v.gmv_minor,
  orders: (v) => v.orders_paid,
  aov: (v) => ratio(v.gmv_minor, v.orders_paid),
  visitors: (v) => v.visitors,
  conversion: (v) => ratio(v.orders_paid, v.sessions),
};

/**
 * The sums over the last `n` closed minutes before `nowMs`: the minute in progress, and a
 * just-ended minute still inside its grace period (flagged open), are skipped; a minute
 * without data counts as zero. `rows` is Series.minutes(); `yesterday` (optional) maps the
 * same minute starts to yesterday's values. Returns {values, yesterday, lastStart, n}.
 */
export function closedWindow(rows, n, nowMs, yesterday = null) {
  const byStart = new Map(rows.map((r) => [r.start, r]));
  let slot = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  for (let i = 0; i < 3 && byStart.get(slot)?.open; i++) slot -= MINUTE_MS;
  const lastStart = slot;
  const values = pick(null, SERIES_FIELDS);
  const before = yesterday ? pick(null, SERIES_FIELDS) : null;
  for (let i = 0; i < n; i++, slot -= MINUTE_MS) {
    const row = byStart.get(slot);
    const old = yesterday ? yesterday.get(slot) : null;
    for (const f of SERIES_FIELDS) {
      if (row) values[f] = add(values[f], row.values[f]);
      if (old) before[f] = add(before[f], old[f]);
    }
  }
  return { values, yesterday: before, lastStart, n };
}

/** Relative change of `now` against `then` (null when either is missing or then is 0). */
export function change(now, then) {
  if (now === null || then === null || now === undefined || then === undefined) return null;
  if (!Number.isFinite(now) || !Number.isFinite(then) || then === 0) return null;
  return now / then - 1;
}

/** Exponential reconnect delay: 0.5 s doubling to `capMs`, with +-20 % jitter. */
export function backoffMs(attempt, capMs = 10000, random = Math.random) {
  const raw = Math.min(capMs, 500 * Math.pow(2, Math.max(0, attempt)));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
