"""The lead image, made fit to travel: at most 1200 px wide, kept small (Pillow).

The same bytes go into the message as an inline part, into the archive beside the issue
page and into the PDF, so the picture a reader sees is the same everywhere. A file
Pillow cannot read is passed on unchanged (the editor's check warns about it).
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

MAX_WIDTH = 1200
JPEG_QUALITY = 82
SMALL_BYTES = 300_000  # an image this small and narrow enough is sent as the editor gave it
# The Content-ID of the image inside the message; the HTML refers to it as cid:LEAD_CID.
LEAD_CID = "lead-image@alliance-digest"


@dataclass(frozen=True)
class LeadImage:
    """A lead image ready to embed or publish."""

    name: str  # its file name on the archive site
    data: bytes
    subtype: str  # "jpeg", "png", "gif", "webp"
    width: int
    height: int


def lead_image_name(image: str) -> str:
    """The file name a lead image beside the draft gets on the archive site."""
    return re.sub(r"[^\w.-]+", "-", PurePosixPath(image).name).lstrip(".")


def is_remote(image: str) -> bool:
    """An image given as a URL (any scheme), not as a file beside the draft."""
    return bool(re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", image))


def local_image_path(issue_dir: Path, image: str | None) -> Path | None:
    """The lead image file inside the issue's folder, or None (a URL, absent, outside)."""
    if not image or is_remote(image):
        return None
    folder = issue_dir.resolve()
    source = (issue_dir / image).resolve()
    if folder not in source.parents or not source.is_file():
        return None
    return source


def load_lead_image(path: Path) -> LeadImage:
    """The image at `path`, resized and re-encoded when that makes it smaller."""
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> LeadImage:
    # Keyed by mtime and size: a replaced image is read again, an unchanged one never.
    del mtime_ns, size
    raw = path.read_bytes()
    name = lead_image_name(path.name)
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            fmt = (image.format or "").lower()
            return _fitted(image, raw, fmt, name)
    except (UnidentifiedImageError, OSError, ValueError):
        subtype = path.suffix.lstrip(".").lower().replace("jpg", "jpeg") or "octet-stream"
        return LeadImage(name=name, data=raw, subtype=subtype, width=0, height=0)


def _fitted(image: Image.Image, raw: bytes, fmt: str, name: str) -> LeadImage:
    # The format is kept (so the file name the archive and the email use never changes);
    # only a wide or heavy JPEG or PNG is resized and re-encoded, and only if that helps.
    width, height = image.size
    if fmt not in ("jpeg", "png") or (width <= MAX_WIDTH and len(raw) <= SMALL_BYTES):
        return LeadImage(name, raw, fmt or "octet-stream", width, height)
    resized = width > MAX_WIDTH
    if resized:
        height = max(1, round(height * MAX_WIDTH / width))
        width = MAX_WIDTH
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", optimize=True)
        if out.tell() > SMALL_BYTES and image.mode in ("RGB", "RGBA"):
            # Still heavy (a photograph kept as PNG): 256 colours, dithered, is a quarter.
            out = io.BytesIO()
            image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(
            out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True
        )
    data = out.getvalue()
    if len(data) >= len(raw) and not resized:
        data = raw  # re-encoding an image of the right size gained nothing
    return LeadImage(name, data, fmt, width, height)
