"""Debian Chromium driven by Playwright (sync API), and what the wall-page tests measure.

Playwright's own browser download is not reachable here, so the system Chromium is
launched by path with the flags it needs in this environment (``CHROMIUM_ARGS`` below).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    sync_playwright,
)

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
FULL_HD: Final = ViewportSize(width=1920, height=1080)
LAPTOP: Final = ViewportSize(width=1366, height=768)
ROOT: Final = Path(__file__).resolve().parents[2]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for one test."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of a page."""

    errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> ConsoleLog:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        return self

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.errors.append(f"{msg.text} ({where})")

    def clear(self) -> None:
        self.errors.clear()
        self.page_errors.clear()


def save_artifact(page: Page, tmp_path: Path, name: str) -> Path:
    """Screenshot into ``tmp_path`` and, when ``SHOPPULSE_ARTIFACTS_DIR`` is set, copy it there."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=False, animations="disabled")
    target = os.environ.get("SHOPPULSE_ARTIFACTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


@contextmanager
def screenshot_on_failure(page: Page, tmp_path: Path, name: str = "failure.png") -> Iterator[None]:
    """Keep a screenshot of the page as an artifact when the block fails."""
    try:
        yield
    except BaseException:
        with suppress(Error):
            save_artifact(page, tmp_path, name)
        raise


def update_docs_screenshot(source: Path, name: str) -> bool:
    """Copy a screenshot to ``docs/img/`` when ``SHOPPULSE_UPDATE_SCREENSHOT=1``."""
    if os.environ.get("SHOPPULSE_UPDATE_SCREENSHOT") != "1":
        return False
    target = ROOT / "docs" / "img" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return True


_RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)")


def parse_rgb(css: str) -> tuple[float, float, float, float]:
    """``rgb(1, 2, 3)`` or ``rgba(1, 2, 3, 0.5)`` as (r, g, b, alpha).

    >>> parse_rgb("rgba(10, 20, 30, 0.5)")
    (10.0, 20.0, 30.0, 0.5)
    """
    match = _RGB.fullmatch(css.strip())
    if match is None:
        raise ValueError(f"not an rgb() colour: {css!r}")
    r, g, b, a = match.groups()
    return float(r), float(g), float(b), 1.0 if a is None else float(a)


def relative_luminance(rgb: tuple[float, float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two opaque CSS colours.

    >>> round(contrast_ratio("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1)
    21.0
    """
    a, b = relative_luminance(parse_rgb(fg)), relative_luminance(parse_rgb(bg))
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


# For every visible element with its own text: its colour, the first opaque background
# behind it, its font size and weight. Transparent colours are blended onto that background.
_TEXT_COLOURS_JS: Final = """
(selector) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const blend = (fg, bg) => {
    const a = fg.length > 3 ? fg[3] : 1;
    return [0, 1, 2].map((i) => Math.round(fg[i] * a + bg[i] * (1 - a)));
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c.length && (c.length < 4 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const rect = el.getBoundingClientRect();
    if (!own || rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) < 0.99) {
      out.push({ text: el.textContent.trim().slice(0, 40), problem: "transparent text" });
      continue;
    }
    const bg = background(el);
    const fg = blend(parse(style.color), bg);
    out.push({
      text: el.textContent.trim().slice(0, 40),
      fg: `rgb(${fg.join(", ")})`,
      bg: `rgb(${bg.join(", ")})`,
      size: parseFloat(style.fontSize),
      weight: Number(style.fontWeight) || 400,
    });
  }
  return out;
}
"""


def contrast_failures(page: Page, selector: str = "body *") -> list[str]:
    """Texts under ``selector`` below WCAG AA: 4.5:1, or 3:1 for large text (24 px, or
    18.66 px bold)."""
    failures: list[str] = []
    items: list[dict[str, Any]] = page.evaluate(_TEXT_COLOURS_JS, selector)
    for item in items:
        if "problem" in item:
            failures.append(f"{item['text']!r}: {item['problem']}")
            continue
        large = item["size"] >= 24 or (item["size"] >= 18.66 and item["weight"] >= 700)
        need = 3.0 if large else 4.5
        ratio = contrast_ratio(item["fg"], item["bg"])
        if ratio < need:
            failures.append(
                f"{item['text']!r}: {ratio:.2f}:1 < {need}:1 ({item['fg']} on {item['bg']})"
            )
    return failures


def fits_one_screen(page: Page) -> bool:
    """Whether the page shows everything without scrolling or clipping (TV mode)."""
    result: bool = page.evaluate(
        """() => {
          const main = document.querySelector("main");
          const ticker = document.querySelector("#ticker").getBoundingClientRect();
          const root = document.documentElement;
          return main.scrollHeight <= main.clientHeight + 1
            && ticker.bottom <= innerHeight + 1
            && root.scrollWidth <= innerWidth
            && [...document.querySelectorAll(".tile, .panel")].every(
                 (el) => el.scrollHeight <= el.clientHeight + 1);
        }"""
    )
    return result


def texts_checked(page: Page, selector: str = "body *") -> int:
    """How many text elements :func:`contrast_failures` looks at (so a test can tell an
    empty page from a page that passes)."""
    items: list[dict[str, Any]] = page.evaluate(_TEXT_COLOURS_JS, selector)
    return len(items)


__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "FULL_HD",
    "LAPTOP",
    "ConsoleLog",
    "Error",
    "chromium",
    "contrast_failures",
    "contrast_ratio",
    "fits_one_screen",
    "save_artifact",
    "screenshot_on_failure",
    "texts_checked",
    "update_docs_screenshot",
]
