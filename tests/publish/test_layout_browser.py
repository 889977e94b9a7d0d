"""The printed digest's layout (`layout: digest`) in headless Chromium at 600 and 375 px:
the headline list under the issue's own label, then one paragraph per story naming its
outlets, no repeated heading and no "Sources:" line; every headline link lands on an
<a name> target with the same id.

Screenshots land in tests/artifacts/email-digest-layout-*.png for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from support.samples import NOW, sample_config, sample_issue

from digest.models import Issue, SourceLink
from digest.publish.email import render

WIDTHS = (600, 375)
LABEL = "Summit Headlines:"


def digest_issue() -> Issue:
    issue = sample_issue()
    first = issue.stories[0]
    named = replace(
        first,
        body="Meeting in Tokyo, the two defense chiefs agreed to widen joint production of "
        "interceptors, Kyodo News reported; Defense News said a working group would follow.",
    )
    long_headline = replace(
        issue.stories[1],
        headline="Joint force headquarters in Tokyo reaches initial operating capability "
        "as allies plan drills",  # 91 characters, as a real issue had
        sources=(SourceLink("NHK World", "https://www3.nhk.or.jp/nhkworld/en/news/1/"),),
    )
    return replace(
        issue,
        image=None,
        layout="digest",
        headlines_label=LABEL,
        stories=(named, long_headline, *issue.stories[2:]),
    )


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


@pytest.fixture(scope="module")
def rendered() -> render.Rendered:
    return render.render_issue(digest_issue(), sample_config(), now=NOW)


def test_the_digest_layout_has_one_paragraph_per_story_and_no_repeated_heading(
    rendered: render.Rendered,
) -> None:
    issue = digest_issue()
    html = rendered.html
    assert re.search(rf'<h2 class="kicker"[^>]*>{LABEL}</h2>', html)
    for story in issue.stories:  # in the headline list only: no heading repeats it
        assert html.count(f">{story.headline.replace('&', '&amp;')}<") == 1, story.headline
    assert "Sources:" not in html and "Sources:" not in rendered.text
    assert len(re.findall(r'<p class="bd dg"', html)) == len(issue.stories)
    # Outlets the text names become links in place; the others follow in parentheses.
    assert '<a class="lk" href="https://english.kyodonews.net/' in html
    assert ">Kyodo News</a> reported" in html
    assert "(<a " in html and ">The Asahi Shimbun</a>)" in html
    assert LABEL.upper() in rendered.text


def test_every_headline_link_has_a_named_target(rendered: render.Rendered) -> None:
    parser = Links()
    parser.feed(rendered.html)
    links = [a["href"][1:] for a in parser.anchors if (a.get("href") or "").startswith("#")]
    names = {a["name"]: a.get("id") for a in parser.anchors if a.get("name")}
    assert len(links) == len(digest_issue().stories)
    for anchor in links:
        assert names.get(anchor) == anchor, anchor


@pytest.fixture
def page_at(browser: Any) -> Iterator[Any]:
    pages: list[Any] = []

    def load(html: str, width: int) -> Any:
        page = browser.new_page()
        pages.append(page)
        page.route("**/*", lambda route: route.abort())
        page.set_viewport_size({"width": width, "height": 700})
        page.set_content(html, wait_until="load")
        return page

    yield load
    for page in pages:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_the_digest_layout_at_600_and_375_px(
    page_at: Any, rendered: render.Rendered, width: int, artifacts_dir: Path
) -> None:
    page = page_at(rendered.html, width)
    path = artifacts_dir / f"email-digest-layout-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    scroll = page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    assert scroll <= width
    # A headline link jumps to its paragraph: scrolled down, the target in view.
    anchor = render.email_view(digest_issue(), sample_config()).headlines[-1].anchor
    page.click(f'a[href="#{anchor}"]')
    top = page.evaluate(
        "(name) => document.getElementsByName(name)[0].getBoundingClientRect().top", anchor
    )
    assert page.evaluate("() => window.scrollY") > 100
    assert 0 <= top < 700


def test_the_draft_chooses_the_layout_and_the_label(tmp_path: Path) -> None:
    import subprocess
    import sys

    from support.publish_project import ISSUE_DATE, write_project

    write_project(tmp_path, layout="digest", label=LABEL, image=False)
    day = ISSUE_DATE.isoformat()
    result = subprocess.run(
        [sys.executable, "-m", "digest", "render", "--date", day, "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "issues" / ISSUE_DATE.isoformat()
    html = (folder / "email.html").read_text(encoding="utf-8")
    assert re.search(rf'<h2 class="kicker"[^>]*>{LABEL}</h2>', html)
    assert 'class="bd dg"' in html and "Sources:" not in html
    assert LABEL.upper() in (folder / "email.txt").read_text(encoding="utf-8")
