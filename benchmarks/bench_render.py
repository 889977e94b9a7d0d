"""Benchmark: render_issue on a 40-story issue (Jinja2, MJML, CSS inlining, text, MIME),
then the PDF of the bilingual sample issue with a 2400 px lead image.

    .venv/bin/python benchmarks/bench_render.py [--repeat 30] [--pdf-repeat 5] [--chromium]

Prints one row per stage and the whole; the bars are a whole render under 50 ms without
the PDF and under 2 s with it. --chromium also times headless Chromium's print of the same
HTML (the alternative to WeasyPrint), with and without the browser's start. The machine
is shared, so the best and the median of the repeats are reported.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import mjml
from PIL import Image
from support.samples import NOW, issue_with_stories, sample_config, sample_issue

from digest.publish.email import render
from digest.publish.site import pdf

BAR_MS = 50.0
PDF_BAR_MS = 2000.0


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--stories", type=int, default=40)
    parser.add_argument("--pdf-repeat", type=int, default=5)
    parser.add_argument("--chromium", action="store_true", help="Also time Chromium's print.")
    args = parser.parse_args()
    bench_email(args)
    bench_pdf(args)


def bench_email(args: argparse.Namespace) -> None:

    issue, config = issue_with_stories(args.stories), sample_config()
    render.render_issue(issue, config, now=NOW)  # warm the template and inliner caches
    view = render.email_view(issue, config)
    html = render.render_html(view)
    text = render.render_text(view)
    source = render.render_mjml(view)
    compiled = mjml.mjml2html(source, fonts={})
    stages: list[tuple[str, Callable[[], object]]] = [
        ("view (clean + check)", lambda: render.email_view(issue, config)),
        ("jinja2 -> MJML", lambda: render.render_mjml(view)),
        ("mjml2html", lambda: mjml.mjml2html(source, fonts={})),
        ("css-inline", lambda: render.inline_css(compiled)),
        ("text part", lambda: render.render_text(view)),
        (
            "MIME message",
            lambda: render.build_message(
                view.subject,
                html,
                text,
                config,
                now=NOW,
                message_id="<x@y>",
                unsubscribe_url=view.unsubscribe_url,
            ),
        ),
        ("render_issue (all)", lambda: render.render_issue(issue, config, now=NOW)),
    ]
    print(
        f"{args.stories} stories, HTML {len(html.encode()):,} bytes, "
        f"text {len(text.encode()):,} bytes; {args.repeat} repeats"
    )
    print(f"{'stage':<22}{'best ms':>10}{'median ms':>11}")
    times: list[float] = []
    for name, fn in stages:
        times = timed(fn, args.repeat)
        print(f"{name:<22}{min(times):>10.2f}{statistics.median(times):>11.2f}")
    median = statistics.median(times)  # the last row: the whole render
    verdict = "under" if median < BAR_MS else "OVER"
    print(f"render_issue median {median:.2f} ms: {verdict} the {BAR_MS:.0f} ms bar")


def photo(width: int = 2400, height: int = 1350) -> bytes:
    """A noisy gradient JPEG the size of a camera's, to be resized for the issue."""
    image = Image.effect_noise((width, height), 40).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def bench_pdf(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        config = replace(sample_config(), path=folder / "feeds.yaml")
        issue = replace(sample_issue(), image="lead.jpg")
        issue_dir = config.issue_dir(issue.date)
        issue_dir.mkdir(parents=True)
        (issue_dir / "lead.jpg").write_bytes(photo())
        # The first PDF pays for WeasyPrint's import and font loading: shown on its own.
        cold = timed(lambda: pdf.render_pdf(issue, config), 1)[0]
        warm = timed(lambda: pdf.render_pdf(issue, config), args.pdf_repeat)
        whole = timed(
            lambda: (render.render_issue(issue, config, now=NOW), pdf.render_pdf(issue, config)),
            args.pdf_repeat,
        )
        data = pdf.render_pdf(issue, config)
        print(f"PDF of the bilingual sample issue: {len(data):,} bytes, lead image 2400 px")
        print(f"{'stage':<30}{'best ms':>10}{'median ms':>11}")
        print(f"{'WeasyPrint, first in process':<30}{cold:>10.0f}{cold:>11.0f}")
        print(f"{'WeasyPrint':<30}{min(warm):>10.0f}{statistics.median(warm):>11.0f}")
        print(f"{'email + PDF':<30}{min(whole):>10.0f}{statistics.median(whole):>11.0f}")
        verdict = "under" if statistics.median(whole) < PDF_BAR_MS else "OVER"
        print(f"email + PDF median: {verdict} the {PDF_BAR_MS:.0f} ms bar")
        if args.chromium:
            bench_chromium(issue, config, args.pdf_repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_chromium(issue: object, config: object, repeat: int) -> None:
    """The same HTML printed by headless Chromium (Playwright, Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    from digest.publish.lead_image import load_lead_image
    from digest.publish.templates import templates_for

    assert isinstance(config, type(sample_config()))
    image = load_lead_image(config.issue_dir(NOW.date()) / "lead.jpg")
    view = render.email_view(issue, config, image_name=image.name)  # type: ignore[arg-type]
    html = pdf.pdf_html(view, image, "letter", templates_for(None))
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("Chromium not found: skipped")
        return
    args = ["--headless", "--no-sandbox", "--disable-gpu"]

    def once(page: object) -> bytes:
        page.set_content(html)  # type: ignore[attr-defined]
        return page.pdf(format="Letter", print_background=True)  # type: ignore[attr-defined, no-any-return]

    with sync_playwright() as playwright:
        started = []
        for _ in range(repeat):
            start = time.perf_counter()
            browser = playwright.chromium.launch(executable_path=executable, args=args)
            once(browser.new_page())
            started.append((time.perf_counter() - start) * 1000)
            browser.close()
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        page = browser.new_page()
        once(page)
        warm = timed(lambda: once(page), repeat)
        size = len(once(page))
        browser.close()
    print(f"Chromium print: {size:,} bytes (no page numbers: its CSS has no margin boxes)")
    print(
        f"{'Chromium, browser started':<30}{min(started):>10.0f}{statistics.median(started):>11.0f}"
    )
    print(f"{'Chromium, browser running':<30}{min(warm):>10.0f}{statistics.median(warm):>11.0f}")


if __name__ == "__main__":
    main()
