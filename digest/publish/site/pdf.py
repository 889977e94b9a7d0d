"""Issue -> the PDF readers download: letter or A4, printed by WeasyPrint.

    Issue --email_view--> EmailView (the email's view: one cleaning, one set of anchors)
          --pdf.html.j2 + pdf.css--> HTML --WeasyPrint--> PDF bytes

The title, date, lead image with its credit, the headline list (linked to the stories
inside the PDF), the stories with their sources as links, page numbers in the footer;
Japanese text is set in Noto CJK. Nothing is fetched: a lead image given as a URL is
left out (its credit stays), a local one is embedded as the archive's resized copy.

WeasyPrint was measured against Chromium's print (benchmarks/bench_render.py): see the
note of issue 14 for the figures behind the choice.
"""

from __future__ import annotations

import base64
import functools
import logging
from typing import Literal

import jinja2
from markupsafe import Markup

from digest.config import Config
from digest.errors import RenderError
from digest.models import Issue
from digest.publish.email.html import load_template
from digest.publish.email.view import EmailView, email_view
from digest.publish.lead_image import LeadImage, load_lead_image, local_image_path
from digest.publish.templates import TemplateSet, templates_for

PDF_TEMPLATE = "pdf.html.j2"
PDF_CSS = "pdf.css"
Paper = Literal["letter", "a4"]
PAPERS: tuple[Paper, ...] = ("letter", "a4")


@functools.cache
def _environment(templates: TemplateSet) -> jinja2.Environment:
    return templates.environment(autoescape=True)


def pdf_html(view: EmailView, image: LeadImage | None, paper: Paper, templates: TemplateSet) -> str:
    """The HTML WeasyPrint prints (pure: the image bytes are passed in)."""
    template = load_template(_environment(templates), templates, PDF_TEMPLATE)
    css = templates.path(PDF_CSS).read_text(encoding="utf-8")
    uri = None
    if image is not None and image.width:
        uri = f"data:image/{image.subtype};base64," + base64.b64encode(image.data).decode()
    try:
        return template.render(v=view, image=uri, paper=paper, css=Markup(css))
    except jinja2.TemplateError as exc:
        raise RenderError(f"{PDF_TEMPLATE}: {exc}", path=templates.path(PDF_TEMPLATE)) from exc


def render_pdf(issue: Issue, config: Config, *, paper: Paper | None = None) -> bytes:
    """The PDF of `issue` as bytes."""
    paper = paper or config.site.pdf_paper
    source = local_image_path(config.issue_dir(issue.date), issue.image)
    image = load_lead_image(source) if source else None
    view = email_view(issue, config, image_name=image.name if image else None)
    html = pdf_html(view, image, paper, templates_for(config.project_dir))
    return print_pdf(html, base_url=view.web_url)


def print_pdf(html: str, *, base_url: str) -> bytes:
    """HTML -> PDF by WeasyPrint, with nothing fetched from the network."""
    # Imported here: WeasyPrint loads Pango and its fonts (~0.3 s), which only the
    # commands that make a PDF should pay for.
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # Only data: URIs (the embedded lead image) load; nothing else reaches the network.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    data = document.write_pdf()
    if not isinstance(data, bytes):  # write_pdf() without a target returns the bytes
        raise RenderError("WeasyPrint returned no PDF")
    return data
