// Number, money, percentage and time formatting for the wall page (no dependencies).

const DASH = "\u2013";
const MINUS = "\u2212";
const moneyFormats = new Map();

function moneyFormat(currency, compact) {
  const key = currency + (compact ? ":c" : "");
  let f = moneyFormats.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency,
        notation: compact ? "compact" : "standard",
        maximumFractionDigits: compact ? 1 : undefined,
      });
    } catch (e) {
      f = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
    }
    moneyFormats.set(key, f);
  }
  return f;
}

/** Digits after the decimal point of a currency's minor unit (2 for EUR, 0 for JPY). */
export function minorDigits(currency) {
  if (!currency) return 2;
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
  } catch (e) {
    return 2;
  }
}

/** Minor units as money: 123456 EUR -> "€1,234.56"; large values without cents. */
export function money(minor, currency, { compact = false } = {}) {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return DASH;
  const major = minor / Math.pow(10, minorDigits(currency));
  if (!currency) return major.toLocaleString(undefined, { maximumFractionDigits: 2 });
  if (!compact && Math.abs(major) >= 1000) {
    return moneyFormat(currency, false).format(Math.round(major)).replace(/[.,]00(?=\D*$)/, "");
  }
  return moneyFormat(currency, compact).format(major);
}

export function count(v, digits = 0) {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return v.toLocaleString(undefined, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function pct(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH;
  return (ratio * 100).toFixed(digits) + "\u202f%";
}

export function seconds(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  if (v < 90) return Math.round(v) + "\u202fs";
  return (v / 60).toFixed(1) + "\u202fmin";
}

/** A signed relative change: 0.123 -> "+12.3 %". */
export function signedPct(ratio) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH;
  const v = ratio * 100;
  const digits = Math.abs(v) >= 100 ? 0 : 1;
  const text = Math.abs(v).toFixed(digits) + "\u202f%";
  if (Number(Math.abs(v).toFixed(digits)) === 0) return "\u00b10\u202f%";
  return (v > 0 ? "+" : MINUS) + text;
}

/** A signed difference of two ratios in percentage points: 0.004 -> "+0.4 pp". */
export function signedPoints(diff) {
  if (diff === null || diff === undefined || !Number.isFinite(diff)) return DASH;
  const v = diff * 100;
  if (Number(Math.abs(v).toFixed(1)) === 0) return "\u00b10.0\u202fpp";
  return (v > 0 ? "+" : MINUS) + Math.abs(v).toFixed(1) + "\u202fpp";
}

const pad = (n) => String(n).padStart(2, "0");

/** Local wall time HH:MM:SS of an epoch-ms instant. */
export function clock(ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

/** Local wall time HH:MM of an epoch-ms instant. */
export function hhmm(ms) {
  const d = new Date(ms);
  return pad(d.getHours()) + ":" + pad(d.getMinutes());
}

export { DASH, MINUS };
