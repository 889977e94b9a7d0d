"""The PDF of every issue: made by a real `digest publish`, linked from the issue page, the
email and the feed, and holding every headline (the Japanese one too).

Page 1 is saved as tests/artifacts/pdf-page1.png for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from support.publish_project import ISSUE_DATE, write_project
from support.samples import STORIES

PDF_NAME = f"alliance-digest-{ISSUE_DATE.isoformat()}.pdf"
HEADLINES = [headline for headline, *_ in STORIES]


def digest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("pdf-project")
    write_project(project)
    result = digest(project, "publish", "--date", ISSUE_DATE.isoformat())
    assert result.returncode == 0, result.stderr
    return project


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def folded(text: str) -> str:
    # Text extraction breaks lines (and Japanese has no spaces to break at): compare
    # without whitespace.
    return re.sub(r"\s+", "", text)


def test_the_pdf_of_a_bilingual_issue_holds_every_headline(published: Path) -> None:
    made = published / "issues" / ISSUE_DATE.isoformat() / PDF_NAME
    served = published / "site" / ISSUE_DATE.isoformat() / PDF_NAME
    assert made.read_bytes()[:5] == b"%PDF-" and served.read_bytes() == made.read_bytes()
    text = folded(pdf_text(made))
    for headline in HEADLINES:
        assert folded(headline) in text, headline
    assert "日米、経済安全保障で重要鉱物の共同備蓄を検討" in text
    assert folded("December 1, 2026") in text and folded("Image Source:") in text
    pages = len(PdfReader(made).pages)
    assert folded(f"1 / {pages}") in text  # page numbers in the footer
    if shutil.which("pdftotext"):  # poppler reads it the same way
        poppler = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(made), "-"], capture_output=True, check=True
        ).stdout.decode("utf-8")
        assert all(folded(h) in folded(poppler) for h in HEADLINES)


def test_the_japanese_text_is_set_in_a_cjk_font(published: Path) -> None:
    reader = PdfReader(published / "issues" / ISSUE_DATE.isoformat() / PDF_NAME)
    fonts: set[str] = set()
    for page in reader.pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("CJK" in name for name in fonts), fonts


def test_sources_are_links_and_headlines_jump_inside_the_pdf(published: Path) -> None:
    reader = PdfReader(published / "issues" / ISSUE_DATE.isoformat() / PDF_NAME)
    uris, internal = set(), 0
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            action = annot.get_object().get("/A", {})
            if "/URI" in action:
                uris.add(str(action["/URI"]))
            elif annot.get_object().get("/Dest") is not None or "/D" in action:
                internal += 1
    for _, _, _, sources in STORIES:
        for _, url in sources:
            assert url in uris, url
    assert internal >= len(HEADLINES)


def test_the_pdf_is_linked_from_the_page_the_email_and_the_feed(published: Path) -> None:
    page = (published / "site" / ISSUE_DATE.isoformat() / "index.html").read_text("utf-8")
    assert (
        f'<a href="{PDF_NAME}" type="application/pdf" download>Download this issue (PDF)</a>'
        in page
    )
    mail = message_from_bytes(
        (published / "issues" / ISSUE_DATE.isoformat() / "email.eml").read_bytes(),
        policy=policy.default,
    )
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    url = f"https://spfusa.org/alliance-digest/{ISSUE_DATE.isoformat()}/{PDF_NAME}"
    assert f'href="{url}"' in html and "Download this issue (PDF)" in html
    assert url in text
    feed = ET.parse(published / "site" / "feed.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    enclosures = [
        link.attrib for link in feed.iter(f"{atom}link") if link.attrib.get("rel") == "enclosure"
    ]
    size = (published / "site" / ISSUE_DATE.isoformat() / PDF_NAME).stat().st_size
    assert enclosures == [
        {
            "rel": "enclosure",
            "type": "application/pdf",
            "href": url,
            "length": str(size),
            "title": "Download this issue (PDF)",
        }
    ]


def test_page_one_as_a_picture(published: Path, artifacts_dir: Path) -> None:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm not found: install Debian's poppler-utils")
    made = published / "issues" / ISSUE_DATE.isoformat() / PDF_NAME
    target = artifacts_dir / "pdf-page1"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(made),
            str(target),
        ],
        check=True,
    )
    picture = target.with_suffix(".png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digest_pdf_makes_a_proof_of_a_draft_in_letter_or_a4(tmp_path: Path) -> None:
    write_project(tmp_path, image=False)
    letter = digest(tmp_path, "pdf", "--date", ISSUE_DATE.isoformat())
    assert letter.returncode == 0, letter.stderr
    proof = Path(letter.stdout.strip())
    assert proof == tmp_path / "issues" / ISSUE_DATE.isoformat() / "draft.pdf"
    box = PdfReader(proof).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    a4 = digest(tmp_path, "pdf", "--paper", "a4", "--output", str(tmp_path / "a4.pdf"))
    assert a4.returncode == 0, a4.stderr
    box = PdfReader(tmp_path / "a4.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    # A proof is not a publication: nothing final was written.
    assert not (tmp_path / "issues" / ISSUE_DATE.isoformat() / PDF_NAME).exists()
    assert not (tmp_path / "issues" / ISSUE_DATE.isoformat() / "published.json").exists()
