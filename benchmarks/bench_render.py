"""Benchmark: render_issue on a 40-story issue (Jinja2, MJML, CSS inlining, text, MIME).

    .venv/bin/python benchmarks/bench_render.py [--repeat 30]

Prints one row per stage and the whole; the bar is a whole render under 50 ms. The
machine is shared, so the best and the median of the repeats are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import mjml
from support.samples import NOW, issue_with_stories, sample_config

from digest.publish.email import render

BAR_MS = 50.0


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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
