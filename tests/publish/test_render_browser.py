"""The email in headless Chromium: 600 and 375 px, light and dark, and a hostile issue.

Screenshots land in tests/artifacts/ (email-*.png) for a person to look at. The page
never reaches the network: the lead image is served by a route, everything else aborted.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.samples import NOW, adversarial_issue, sample_config, sample_issue

from digest.publish.email import render

pytestmark = pytest.mark.browser

WIDTHS = (600, 375)


def lead_image_png(width: int = 1200, height: int = 630) -> bytes:
    """A navy-to-red gradient PNG, made without an imaging library."""
    raw = b"".join(
        b"\x00"
        + b"".join(
            bytes((20 + x * 150 // width, 33 + y * 20 // height, 61 - x * 20 // width))
            for x in range(width)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def png() -> bytes:
    return lead_image_png()


@pytest.fixture
def open_email(browser: Any, png: bytes) -> Iterator[Any]:
    pages: list[Any] = []

    def load(html: str, *, width: int, scheme: str = "light") -> Any:
        page = browser.new_page()
        pages.append(page)
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))

        def route(request_route: Any) -> None:
            if request_route.request.url == sample_issue().image:
                request_route.fulfill(status=200, content_type="image/png", body=png)
            else:
                request_route.abort()

        page.route("**/*", route)
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        page.set_content(html, wait_until="load")
        return page

    yield load
    for page in pages:
        page.close()


def shoot(page: Any, artifacts_dir: Path, name: str) -> Path:
    path = artifacts_dir / f"email-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def overflow(page: Any) -> int:
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        )
    )


# Contrast of every visible text-bearing element against the first opaque background
# behind it (WCAG 2 relative luminance).
CONTRAST_JS = """
() => {
  const rgba = (c) => { const p = c.match(/[\\d.]+/g).map(Number);
                        return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const chan = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * chan(c.r) + 0.7152 * chan(c.g) + 0.0722 * chan(c.b);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!own || box.width === 0 || box.height === 0 || style.visibility === 'hidden'
        || Number(style.opacity) === 0) continue;
    const fg = lum(rgba(style.color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    out.push({text: el.textContent.trim().slice(0, 40), ratio, color: style.color,
              background: JSON.stringify(background(el))});
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def sample() -> render.Rendered:
    return render.render_issue(sample_issue(), sample_config(), now=NOW)


@pytest.mark.parametrize("width", WIDTHS)
def test_email_fits_the_screen(
    open_email: Any, sample: render.Rendered, width: int, artifacts_dir: Path
) -> None:
    page = open_email(sample.html, width=width)
    assert overflow(page) <= width
    # The lead image arrived and scales to the column.
    image = page.eval_on_selector("img", "i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert image[0] == 1200 and 0 < image[1] <= width
    # Every headline in the list points at a story in the email.
    targets = page.eval_on_selector_all(
        "a[href^='#']", "links => links.map(a => !!document.getElementById(a.hash.slice(1)))"
    )
    assert targets and all(targets)
    shoot(page, artifacts_dir, f"{width}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_text_contrast_is_at_least_4_5(
    open_email: Any, sample: render.Rendered, width: int, scheme: str, artifacts_dir: Path
) -> None:
    page = open_email(sample.html, width=width, scheme=scheme)
    measured = page.evaluate(CONTRAST_JS)
    assert len(measured) > 30
    poor = [m for m in measured if m["ratio"] < 4.5]
    assert not poor, poor
    if scheme == "dark":
        body = page.eval_on_selector(".bd", "p => getComputedStyle(p).color")
        assert body == "rgb(230, 227, 222)"  # the dark palette really applied
        shoot(page, artifacts_dir, f"{width}-dark")


def test_story_layout_on_a_phone(open_email: Any, sample: render.Rendered) -> None:
    page = open_email(sample.html, width=375)
    padding = page.eval_on_selector("td.px", "td => getComputedStyle(td).paddingLeft")
    assert padding == "20px"
    title = page.eval_on_selector("h1", "h => h.getBoundingClientRect().right")
    assert title <= 375


@pytest.mark.parametrize("width", WIDTHS)
def test_hostile_issue_is_inert_and_fits(open_email: Any, width: int, artifacts_dir: Path) -> None:
    rendered = render.render_issue(adversarial_issue(), sample_config(), now=NOW)
    page = open_email(rendered.html, width=width)
    page.wait_for_timeout(50)
    assert page.dialogs == []
    assert page.evaluate("() => document.scripts.length") == 0
    handlers = page.evaluate(
        "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
    )
    assert handlers == []
    # Named jump targets (<a name> without href) are not links.
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.protocol)")
    assert set(hrefs) <= {"https:", "http:", "about:"}  # about: is how #anchors resolve here
    assert overflow(page) <= width
    shoot(page, artifacts_dir, f"hostile-{width}")


def test_without_style_blocks_the_email_still_reads(
    open_email: Any, sample: render.Rendered, artifacts_dir: Path
) -> None:
    # Some clients (Gmail for non-Google accounts, many webmail sanitizers) drop every
    # <style> block: the inlined styles alone must keep the layout and the contrast.
    html, dropped = re.subn(r"<style[^>]*>.*?</style>", "", sample.html, flags=re.S)
    assert dropped >= 3
    page = open_email(html, width=375)
    assert page.evaluate("() => document.querySelectorAll('style').length") == 0
    assert overflow(page) <= 375
    measured = page.evaluate(CONTRAST_JS)
    assert len(measured) > 30
    assert not [m for m in measured if m["ratio"] < 4.5]
    assert page.eval_on_selector("h1", "h => getComputedStyle(h).fontFamily").startswith("Georgia")
    shoot(page, artifacts_dir, "375-no-style")
