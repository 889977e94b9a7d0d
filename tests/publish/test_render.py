"""The email HTML and its plain-text twin: structure, accessibility, safety, size."""

from __future__ import annotations

import dataclasses
import itertools
import re
from html.parser import HTMLParser

import mjml
import pytest
from support.samples import (
    NOW,
    adversarial_issue,
    issue_with_stories,
    sample_config,
    sample_issue,
)

from digest._util.urls import safe_url
from digest.errors import RenderError
from digest.models import IssueStory, SourceLink
from digest.publish.email import render


class Tags(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def sample() -> render.Rendered:
    return render.render_issue(sample_issue(), sample_config(), now=NOW)


@pytest.fixture(scope="module")
def hostile() -> render.Rendered:
    return render.render_issue(adversarial_issue(), sample_config(), now=NOW)


# ---------------------------------------------------------------- layout and content


def test_subject_follows_the_configured_pattern(sample: render.Rendered) -> None:
    assert sample.subject == "US-Japan Alliance Digest Vol 4.22 (November 15, 2026)"
    config = sample_config(subject="[{iso_date}] {title}")
    assert (
        render.subject_for(sample_issue(), config)
        == "[2026-11-15] US-Japan Alliance Digest Vol 4.22"
    )


def test_a_bad_subject_pattern_names_the_setting() -> None:
    with pytest.raises(RenderError, match=r"digest.subject .*\{volume\}"):
        render.subject_for(sample_issue(), sample_config(subject="{title} {oops}"))


def test_the_issue_reads_like_the_digest(sample: render.Rendered) -> None:
    issue = sample_issue()
    tags = Tags(sample.html)
    text = " ".join(" ".join(tags.text).split())
    assert "US-Japan Alliance Digest Vol 4.22" in text
    assert "November 15, 2026" in text
    assert "Image Source: U.S. Department of Defense" in text
    assert issue.intro in text
    # Headlines link to their stories, and the stories follow in the same order.
    toc = [a["href"] for a in tags.all("a") if (a.get("href") or "").startswith("#")]
    # Every target is an <a name> with the same id: Gmail, Outlook and Yahoo follow only
    # names, the other clients only ids.
    targets = [a["name"] for a in tags.all("a") if a.get("name")]
    ids = [a.get("id") for a in tags.all("a") if a.get("name")]
    assert toc == [f"#{s.anchor}" for s in issue.stories]
    assert targets == ids == [s.anchor for s in issue.stories]
    for story in issue.stories:
        for source in story.sources:
            assert f'href="{source.url}"' in sample.html
            assert f">{source.name}</a>" in sample.html
    assert [
        h
        for h in ("Defense", "Economy &amp; Technology", "Diplomacy")
        if f">{h}</h2>" in sample.html
    ] == ["Defense", "Economy &amp; Technology", "Diplomacy"]


def test_footer_has_organisation_links_unsubscribe_and_address(sample: render.Rendered) -> None:
    html = sample.html
    assert 'href="https://spfusa.org/alliance-digest/2026-11-15/"' in html
    assert 'href="https://spfusa.org/alliance-digest/"' in html
    assert 'href="https://spfusa.org/alliance-digest/unsubscribe?token={token}"' in html
    assert "1819 L Street NW, Suite 300, Washington, DC 20036, USA" in html
    assert "Sasakawa Peace Foundation USA" in html


def test_without_an_unsubscribe_url_the_footer_points_to_contact() -> None:
    rendered = render.render_issue(sample_issue(), sample_config(unsubscribe_url=""), now=NOW)
    assert "unsubscribe?token" not in rendered.html
    assert "Contact us to stop receiving the digest" in rendered.html
    assert b"List-Unsubscribe" not in rendered.eml


def test_stories_without_sections_get_no_section_headings() -> None:
    issue = sample_issue()
    flat = dataclasses.replace(
        issue, stories=tuple(dataclasses.replace(s, section=None) for s in issue.stories)
    )
    tags = Tags(render.render_issue(flat, sample_config(), now=NOW).html)
    levels = [name for name, _ in tags.tags if re.fullmatch(r"h[1-6]", name)]
    assert levels == ["h1", "h2"] + ["h2"] * len(issue.stories)


def test_interleaved_sections_get_one_heading_each_in_order_of_first_use() -> None:
    # Editors reorder stories freely; the email must not print "Defense" twice, and the
    # list of headlines must follow the stories as printed (as the archive page does).
    issue = sample_issue()
    sections = ["Defense", "Diplomacy", None, "Defense", "Economy", None]
    mixed = dataclasses.replace(
        issue,
        stories=tuple(
            dataclasses.replace(s, section=name)
            for s, name in zip(issue.stories, sections, strict=True)
        ),
    )
    config = sample_config()
    rendered = render.render_issue(mixed, config, now=NOW)
    tags = Tags(rendered.html)
    headings = re.findall(r'<h2 class="sec"[^>]*>([^<]*)</h2>', rendered.html)
    # A story without a section joins the default one, as on the archive page.
    assert config.rules.default_section == "Diplomacy"
    assert headings == ["Defense", "Diplomacy", "Economy"]
    order = [mixed.stories[i].anchor for i in (0, 3, 1, 2, 5, 4)]
    toc = [a["href"] for a in tags.all("a") if (a.get("href") or "").startswith("#")]
    ids = [a["id"] for a in tags.all("a") if a.get("name")]
    assert toc == [f"#{anchor}" for anchor in order]
    assert ids == order
    assert [line for line in rendered.text.splitlines() if line.startswith("==")] == [
        "=" * len(name) for name in headings
    ]


# ---------------------------------------------------------------- accessibility


def test_document_language_and_one_h1(sample: render.Rendered) -> None:
    tags = Tags(sample.html)
    assert tags.all("html")[0]["lang"] == "en"
    assert len(tags.all("h1")) == 1
    japanese = [a for a in tags.all("h3") if a.get("lang") == "ja"]
    assert len(japanese) == 1  # the Japanese headline is marked as such


def test_headings_never_skip_a_level(sample: render.Rendered) -> None:
    levels = [int(name[1]) for name, _ in Tags(sample.html).tags if re.fullmatch(r"h[1-6]", name)]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))


def test_layout_tables_are_presentation_and_images_have_alt(sample: render.Rendered) -> None:
    tags = Tags(sample.html)
    assert tags.all("table")
    assert all(t.get("role") == "presentation" for t in tags.all("table"))
    images = tags.all("img")
    assert [i["alt"] for i in images] == [sample_issue().image_alt]


def test_an_image_without_alt_text_still_gets_one() -> None:
    issue = dataclasses.replace(sample_issue(), image_alt="")
    images = Tags(render.render_issue(issue, sample_config(), now=NOW).html).all("img")
    assert images and all((i.get("alt") or "").strip() for i in images)


def test_links_are_descriptive(sample: render.Rendered) -> None:
    tags = Tags(sample.html)
    parser_links = re.findall(r"<a [^>]*href[^>]*>(.*?)</a>", sample.html)
    assert parser_links and all(len(text) >= 3 for text in parser_links)
    assert not any(t.lower() in ("here", "click here", "link") for t in parser_links)
    # Every <a> is a link, or a named jump target (no href) for the headline list.
    assert all(a.get("href") or a.get("name") for a in tags.all("a"))


def test_preheader_comes_from_the_draft(sample: render.Rendered) -> None:
    assert sample_issue().preheader in sample.html


def test_preheader_is_hidden_in_every_client_and_padded(sample: render.Rendered) -> None:
    body = sample.html[sample.html.index("<body") :]
    first = re.search(r'<div class="preheader" style="([^"]*)">([^<]*)</div>', body)
    assert first is not None
    style, content = first.groups()
    # display:none for most clients, mso-hide:all for Outlook's Word engine.
    assert "display:none" in style and "mso-hide:all" in style
    assert content.startswith(sample_issue().preheader)
    # Invisible filler so that inboxes do not preview "Read this issue on the web".
    assert content.count("\u034f") >= 80
    # It is the first text of the body: nothing visible comes before it.
    before = Tags(body[: first.start()]).text
    assert not "".join(before).strip()


@pytest.mark.parametrize("preheader", ["", "Short", "x " * 200])
def test_preheader_is_always_40_to_150_characters(preheader: str) -> None:
    issue = dataclasses.replace(sample_issue(), preheader=preheader)
    headlines = [s.headline for s in issue.stories]
    text = render.preheader_for(issue, headlines)
    assert 40 <= len(text) <= 150
    if not preheader:
        assert text.startswith(headlines[0])


def test_preheader_of_a_one_story_issue_is_padded_with_the_title() -> None:
    issue = dataclasses.replace(
        sample_issue(), preheader="", stories=(IssueStory("Talks", "Body.", (), None, "a"),)
    )
    text = render.preheader_for(issue, ["Talks"])
    assert 40 <= len(text) <= 150 and "Vol 4.22" in text


# ---------------------------------------------------------------- the compiled HTML


def test_css_is_inlined_and_style_blocks_kept(sample: render.Rendered) -> None:
    assert re.search(r'<h1 class="h1" style="[^"]*font-family: Georgia', sample.html)
    assert re.search(r'<p class="bd" dir="auto" style="margin: 0 0 14px;"', sample.html)
    assert "@media (prefers-color-scheme: dark)" in sample.html
    assert '<meta name="color-scheme" content="light dark">' in sample.html


def _style_blocks(html: str) -> list[str]:
    head = re.sub(
        r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html[: html.index("</head>")], flags=re.S
    )
    return re.findall(r"<style[^>]*>(.*?)</style>", head, re.S)


def test_style_blocks_are_small_and_kept_apart_for_gmail(sample: render.Rendered) -> None:
    # Gmail drops a whole <style> block it cannot use, and ignores large ones: the phone
    # layout, the dark palette and Outlook.com's [data-ogsc] rules live in separate blocks.
    blocks = _style_blocks(sample.html)
    assert all(len(b.encode()) < 8_000 for b in blocks)
    assert sum(len(b.encode()) for b in blocks) < 16_000
    mobile = [b for b in blocks if "max-width: 479px" in b and "td.px" in b]
    dark = [b for b in blocks if "prefers-color-scheme: dark" in b]
    ogsc = [b for b in blocks if "[data-ogsc]" in b]
    assert len(mobile) == len(dark) == len(ogsc) == 1
    assert "[data-ogsc]" not in mobile[0] + dark[0]
    assert "prefers-color-scheme" not in mobile[0]
    # Apple Mail honours the color-scheme declaration in CSS as well as the meta tag, and
    # leaves dates and addresses alone when told so.
    assert "color-scheme: light dark" in dark[0]
    assert '<meta name="format-detection" content="telephone=no, date=no, address=no' in sample.html


def test_outlook_gets_widths_as_attributes_and_no_css_images(sample: render.Rendered) -> None:
    # Word ignores max-width and CSS widths on divs: its ghost tables carry width="600".
    ghosts = re.findall(r"<!--\[if mso \| IE\]><table[^>]*>", sample.html)
    assert sum('width="600"' in t for t in ghosts) >= 4  # one per section
    assert re.search(r'<img [^>]*width="600"', sample.html)
    assert "background-image" not in sample.html and "url(" not in sample.html
    # Headings get Outlook's font fallback too (Word would give them Times New Roman).
    mso = re.findall(r"<!--\[if mso\]>(.*?)<!\[endif\]-->", sample.html, re.S)
    assert any(re.search(r"\bh2\b.*font-family: Arial", block, re.S) for block in mso)


def test_outlook_conditional_comments_survive_inlining(sample: render.Rendered) -> None:
    view = render.email_view(sample_issue(), sample_config())
    compiled = mjml.mjml2html(render.render_mjml(view), fonts={})
    comment = re.compile(r"<!--\[if .*?<!\[endif\]-->", re.S)
    before, after = comment.findall(compiled), comment.findall(sample.html)
    assert len(before) >= 20
    assert after == before
    assert any("font-family: Arial" in c for c in after)  # Outlook's font fallback


def test_japanese_font_stack(sample: render.Rendered) -> None:
    for font in ("Hiragino Sans", "Yu Gothic", "Meiryo", "Noto Sans JP", "Yu Mincho"):
        assert font in sample.html


def test_a_japanese_digest_is_marked_japanese() -> None:
    rendered = render.render_issue(sample_issue(), sample_config(lang="ja"), now=NOW)
    assert '<html lang="ja"' in rendered.html
    assert "2026年11月15日" in rendered.html and "今号の記事" in rendered.html
    # English headlines inside a Japanese document carry their own language.
    assert 'lang="en"' in rendered.html


def test_template_leaks_are_caught() -> None:
    for leak in ("<mj-text>", "{{ v.title }}", "{% if %}"):
        with pytest.raises(RenderError, match="leaked"):
            render.check_leaks(f"<p>{leak}</p>")


def test_rendering_is_deterministic(sample: render.Rendered) -> None:
    again = render.render_issue(sample_issue(), sample_config(), now=NOW)
    assert again.html == sample.html and again.text == sample.text


def test_forty_stories_stay_under_gmails_clip() -> None:
    rendered = render.render_issue(issue_with_stories(40), sample_config(), now=NOW)
    size = len(rendered.html.encode("utf-8"))
    assert size < 90_000, f"{size} bytes of HTML"
    assert rendered.html.count('class="hl"') == 40


# ---------------------------------------------------------------- untrusted feed text


def test_hostile_feed_text_stays_inert(hostile: render.Rendered) -> None:
    tags = Tags(hostile.html)
    names = {name for name, _ in tags.tags}
    assert not names & {"script", "iframe", "object", "embed", "form", "b", "svg", "mj-text"}
    for name, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        for key in ("href", "src"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("https://", "http://", "#")), (name, key, value)
    assert "javascript:" not in hostile.html.lower()
    assert "data:text" not in hostile.html and "vbscript" not in hostile.html.lower()
    # The visible text says what the feed said, escaped.
    assert (
        "Summit &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; ends" in hostile.html
        or "Summit &lt;script&gt;alert('x')&lt;/script&gt; ends" in hostile.html
    )


def test_hostile_links_are_dropped_and_good_ones_kept(hostile: render.Rendered) -> None:
    hrefs = [a["href"] for a in Tags(hostile.html).all("a") if not a.get("name")]
    assert "https://example.org/good" in hrefs
    assert "https://www.asahi.com/articles/" in hrefs  # stripped of its spaces
    assert "https://EXAMPLE.ORG/NoName" in hrefs
    assert ">example.org</a>" in hostile.html  # a nameless source is named by its host
    assert not any("alert" in h and '"' in h for h in hrefs)


def test_template_syntax_in_feed_text_is_printed_not_run(hostile: render.Rendered) -> None:
    text = " ".join(Tags(hostile.html).text)
    assert "{{ config }} {% for %} <mj-text>leak</mj-text>" in text
    assert "{{ config }}" in hostile.text
    assert "{{" not in hostile.html and "{%" not in hostile.html


def test_bidi_overrides_and_controls_are_removed_but_scripts_kept(hostile: render.Rendered) -> None:
    assert "\u202e" not in hostile.html and "\u202e" not in hostile.text
    assert "مرحبا بالعالم" in hostile.html and "שלום עולם" in hostile.html
    assert "🇺🇸🤝🇯🇵" in hostile.html and "👩\u200d💻" in hostile.html
    assert "日本語の見出し" in hostile.html


def test_huge_titles_are_capped(hostile: render.Rendered) -> None:
    longest = max(len(t) for t in Tags(hostile.html).text)
    assert longest <= render.MAX_BODY + 1
    assert len(hostile.html.encode()) < 90_000


def test_a_non_http_image_is_dropped(hostile: render.Rendered) -> None:
    assert not Tags(hostile.html).all("img")
    assert "Image Source" not in hostile.html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1&c=2", "https://example.org/a?b=1&c=2"),
        ("  http://example.org/  ", "http://example.org/"),
        ('https://example.org/"><script>', "https://example.org/%22%3E%3Cscript%3E"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<b>", None),
        ("vbscript:x", None),
        ("ftp://example.org/", None),
        ("//example.org/", None),
        ("/relative", None),
        ("https://exa mple.org/", None),
        ("https://example.org/\nBcc: x", None),
        ("https://", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_story_without_any_safe_source_has_no_sources_line() -> None:
    issue = dataclasses.replace(
        sample_issue(),
        stories=(
            IssueStory("Headline here", "Body.", (SourceLink("X", "javascript:1"),), None, "a"),
        ),
    )
    rendered = render.render_issue(issue, sample_config(), now=NOW)
    assert "Sources:" not in rendered.html and "Sources:" not in rendered.text


# ---------------------------------------------------------------- the plain-text part


def test_text_part_is_the_same_issue(sample: render.Rendered) -> None:
    issue = sample_issue()
    flat = " ".join(sample.text.split())
    positions = [flat.index(s.headline, flat.index("DEFENSE")) for s in issue.stories]
    assert positions == sorted(positions)
    for story in issue.stories:
        for source in story.sources:
            assert f"<{source.url}>" in flat
    assert "<p" not in sample.text and "&amp;" not in sample.text
    assert "Unsubscribe from the digest:" in sample.text
    assert "1819 L Street NW" in sample.text


def _long_lines(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if render.display_width(line) > 72 and "://" not in line
    ]


def test_text_part_is_wrapped_at_72_columns(
    sample: render.Rendered, hostile: render.Rendered
) -> None:
    assert not _long_lines(sample.text)
    assert not _long_lines(hostile.text)


def test_wrapping_never_splits_a_hyphenated_word() -> None:
    text = (
        "The forward-deployed forces and the defense-industrial forum met the "
        "command-and-control deadline with surface-to-air interceptors and "
        "supply-chain resilience reviews, state-of-the-art over-the-horizon radars. "
    ) * 3
    wrapped = render.wrap_text(text)
    lines = wrapped.splitlines()
    assert all(len(line) <= 72 for line in lines)
    assert not any(line.endswith("-") for line in lines)
    for word in re.findall(r"\w+(?:-\w+)+", text):
        assert word in wrapped
    assert " ".join(wrapped.split()) == " ".join(text.split())


def test_wrapping_japanese_respects_width_and_line_breaking_rules() -> None:
    text = (
        "日米両政府は、重要鉱物の供給網を強化するため、共同備蓄の枠組みを検討していると発表した。"
    ) * 4
    lines = render.wrap_text(text, indent="  ").splitlines()
    assert len(lines) > 3
    assert all(render.display_width(line) <= 72 for line in lines)
    assert not any(line.strip()[0] in "、。」" for line in lines)
    assert "".join(line.strip() for line in lines) == text


def test_wrapping_keeps_urls_whole_and_cuts_runaway_words() -> None:
    url = "https://www.example.org/" + "a" * 90
    assert url in render.wrap_text(f"See {url} now").splitlines()
    lines = render.wrap_text("x" * 200).splitlines()
    assert [len(line) for line in lines] == [72, 72, 56]


def test_an_almost_empty_issue_still_renders() -> None:
    issue = dataclasses.replace(
        sample_issue(), stories=(), intro="", image=None, image_credit="", preheader=""
    )
    rendered = render.render_issue(issue, sample_config(), now=NOW)
    tags = Tags(rendered.html)
    assert len(tags.all("h1")) == 1 and not tags.all("img") and not tags.all("ul")
    assert 40 <= len(render.preheader_for(issue, [])) <= 150
    assert rendered.text.startswith("US-JAPAN ALLIANCE DIGEST VOL 4.22\n")


def test_a_lead_image_file_beside_the_draft_is_linked_from_its_archive_copy() -> None:
    issue = dataclasses.replace(sample_issue(), image="lead photo.jpg", image_credit="Kyodo")
    html = render.render_issue(issue, sample_config(), now=NOW).html
    base = sample_config().site.base_url.rstrip("/")
    assert f'src="{base}/{issue.date.isoformat()}/lead-photo.jpg"' in html
    assert "Image Source: Kyodo" in html
