// Hand-drawn SVG sparklines: one point per minute, the open minute dashed and hollow.

import { MINUTE_MS } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const PAD = 5;

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Create an empty sparkline inside `host` (an element); returns the <svg>. */
export function createSparkline(host, label) {
  const svg = el("svg", {
    viewBox: "0 0 300 60",
    class: "spark",
    role: "img",
    "aria-label": label,
  });
  host.replaceChildren(svg);  // callers may add notes after it
  return svg;
}

/**
 * Draw `rows` ([{start, value, open}], oldest first) over the minutes [fromMs, toMs), and
 * optionally yesterday's values (a Map start -> value) as a faint reference line.
 */
export function drawSparkline(svg, rows, fromMs, toMs, yesterday, describe) {
  // Drawn in CSS pixels (the viewBox follows the element's size), so dots stay round.
  const W = Math.max(60, Math.round(svg.clientWidth || 300));
  const H = Math.max(24, Math.round(svg.clientHeight || 60));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const points = rows.filter((r) => r.value !== null && r.value !== undefined);
  const ghost = [];
  if (yesterday) {
    for (let t = fromMs; t < toMs; t += MINUTE_MS) {
      const v = yesterday.get(t);
      if (v !== null && v !== undefined) ghost.push({ start: t, value: v });
    }
  }
  const all = [...points, ...ghost].map((p) => p.value);
  const max = Math.max(1e-9, ...all);
  const min = Math.min(0, ...all);
  const span = Math.max(1, (toMs - fromMs) / MINUTE_MS - 1);
  const x = (start) => PAD + ((start - fromMs) / MINUTE_MS / span) * (W - 2 * PAD);
  const y = (v) => H - PAD - ((v - min) / (max - min || 1)) * (H - 2 * PAD);
  const path = (pts) => pts.map((p, i) => (i ? "L" : "M") + x(p.start).toFixed(1) + " " + y(p.value).toFixed(1)).join(" ");

  // The trailing run of open minutes (the minute in progress, and one still in its grace
  // period) is dashed and ends in a hollow dot; everything before it is one solid line, where
  // an open minute in the middle (inputs still being read) gets a small hollow dot.
  let cut = points.length;
  while (cut > 0 && points[cut - 1].open) cut -= 1;
  const solid = points.slice(0, cut);
  const trailing = points.slice(cut);
  const children = [];
  if (ghost.length > 1) children.push(el("path", { d: path(ghost), class: "spark-ghost" }));
  if (solid.length > 1) children.push(el("path", { d: path(solid), class: "spark-line" }));
  for (const p of solid) {
    if (p.open) {
      children.push(el("circle", { cx: x(p.start).toFixed(1), cy: y(p.value).toFixed(1), r: 2.5, class: "spark-open-dot" }));
    }
  }
  if (trailing.length) {
    const joined = solid.length ? [solid[solid.length - 1], ...trailing] : trailing;
    if (joined.length > 1) children.push(el("path", { d: path(joined), class: "spark-open" }));
    const last = trailing[trailing.length - 1];
    const dot = el("circle", { cx: x(last.start).toFixed(1), cy: y(last.value).toFixed(1), r: 3.5, class: "spark-open-dot spark-last" });
    const title = el("title", {});
    title.textContent = "open minute (provisional)";
    dot.appendChild(title);
    children.push(dot);
  } else if (solid.length) {
    const last = solid[solid.length - 1];
    children.push(el("circle", { cx: x(last.start).toFixed(1), cy: y(last.value).toFixed(1), r: 3, class: "spark-dot" }));
  }
  svg.replaceChildren(...children);
  svg.dataset.points = String(points.length);
  svg.dataset.open = String(points.length - solid.filter((p) => !p.open).length);
  if (describe) svg.setAttribute("aria-label", describe);
}
