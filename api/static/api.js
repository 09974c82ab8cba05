// REST helpers: JSON GETs with a timeout. Network failures and timeouts reject;
// HTTP errors resolve with their status so callers can tell "absent" from "down".

export const REST_TIMEOUT_MS = 8000;

// A viewer API key, when the API asks for one (SHOPPULSE_API_KEYS): sent as X-API-Key.
let apiKey = null;
export function setApiKey(key) { apiKey = key || null; }
export function getApiKey() { return apiKey; }

/** GET `path`; resolves {ok, status, body} (body null when not JSON), rejects when unreachable. */
export async function getJson(path, { timeoutMs = REST_TIMEOUT_MS } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const headers = { Accept: "application/json" };
    if (apiKey) headers["X-API-Key"] = apiKey;
    const resp = await fetch(path, { signal: ctrl.signal, headers, cache: "no-store" });
    let body = null;
    try {
      body = await resp.json();
    } catch (e) {
      body = null;
    }
    return { ok: resp.ok, status: resp.status, body };
  } finally {
    clearTimeout(timer);
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, String(v));
  return q.toString();
}
