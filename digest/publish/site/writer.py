"""The plan of the site -> files in site/: rendered aside, swapped in, changes only.

[Page] --page.key--> compared with site/.digest-manifest.json (the inputs of each file)
       --render (Jinja2) / copy / resize--> site/.digest-staging/
       --os.replace--> site/ (a web server serving the folder never sends half a page)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from digest._util.fs import atomic_write
from digest.errors import PublishError
from digest.publish.lead_image import load_lead_image
from digest.publish.site.plan import Page
from digest.publish.templates import TemplateSet, templates_for

MANIFEST_NAME = ".digest-manifest.json"
STAGING_NAME = ".digest-staging"
ASSETS = ("site.css", "print.css", "search.js")


@dataclass(frozen=True)
class SiteReport:
    """What build_site did, path by path (paths relative to the site folder)."""

    site_dir: Path
    issues: int
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (
            f"{self.site_dir}: {self.issues} issue(s), {len(self.written)} file(s) written, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )


def _environment(templates: TemplateSet) -> jinja2.Environment:
    return templates.environment(autoescape=jinja2.select_autoescape(["html", "xml"]))


def template_fingerprint(templates: TemplateSet) -> str:
    """A hash of every template and asset: a change to any of them redoes every page."""
    digest = hashlib.sha256()
    for directory in templates.dirs:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(directory).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def asset_pages(templates: TemplateSet) -> list[Page]:
    """The stylesheets and the search script, copied as they are."""
    return [Page(f"assets/{name}", data=templates.path(name).read_bytes()) for name in ASSETS]


def write_site(
    pages: Sequence[Page],
    site_dir: Path,
    *,
    issues: int,
    full: bool = False,
    templates: TemplateSet | None = None,
) -> SiteReport:
    """Render the pages whose inputs changed aside, then swap them in; remove pages no
    longer planned.

    Every changed page is rendered into site/.digest-staging/ first, so a template error
    or a full disk leaves the site as it was. Before the swap the manifest forgets the
    pages about to change, so a swap cut short (a kill) is redone by the next build
    whatever it plans; the complete manifest is written last.
    """
    site_dir = Path(site_dir)
    manifest_path = site_dir / MANIFEST_NAME
    old = {} if full else _read_manifest(manifest_path)
    templates = templates or templates_for(None, "site")
    fingerprint = template_fingerprint(templates)
    env = _environment(templates)
    staging = site_dir / STAGING_NAME
    shutil.rmtree(staging, ignore_errors=True)  # what an interrupted build left
    for leftover in site_dir.glob(f".{MANIFEST_NAME}.*.tmp"):  # a killed manifest write
        leftover.unlink(missing_ok=True)
    new: dict[str, str] = {}
    written: list[str] = []
    unchanged: list[str] = []
    for page in pages:
        if page.path in new:
            raise PublishError(
                f"two pages of the site would be written to {page.path}", path=site_dir / page.path
            )
        key = page.key(fingerprint)
        new[page.path] = key
        target = site_dir / page.path
        if old.get(page.path) == key and target.exists():
            unchanged.append(page.path)
            continue
        _write(staging / page.path, _content(page, env))
        written.append(page.path)
    removed = [p for p in old if p not in new]
    if written or removed:
        forgotten = {p: k for p, k in old.items() if p not in written and p not in removed}
        atomic_write(manifest_path, json.dumps(forgotten, indent=0, sort_keys=True) + "\n")
    for path in written:
        _swap(staging / path, site_dir / path)
    removed = [p for p in removed if _safe_remove(site_dir, p)]
    shutil.rmtree(staging, ignore_errors=True)
    if written or removed or old != new:
        atomic_write(manifest_path, json.dumps(new, indent=0, sort_keys=True) + "\n")
    return SiteReport(
        site_dir=site_dir,
        issues=issues,
        written=tuple(written),
        unchanged=tuple(unchanged),
        removed=tuple(removed),
    )


_INDENT = re.compile(r"\n[ \t]+")


def _content(page: Page, env: jinja2.Environment) -> bytes:
    if page.template is not None:
        text = env.get_template(page.template).render(**page.context)
        # Template indentation is for people; pages have no <pre>, so it can go.
        return _INDENT.sub("\n", text).encode("utf-8")
    if page.source is not None and page.lead_image:
        return load_lead_image(page.source).data
    if page.source is not None:
        return page.source.read_bytes()
    return page.data or b""


def _swap(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)


def _write(target: Path, data: bytes) -> None:
    # Pages are replaced by rename, so a web server serving the folder never sends half a
    # page; not fsynced one by one: the whole site can be rebuilt from published.json.
    atomic_write(target, data, durable=False)  # whole or absent, even on a full disk


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _safe_remove(site_dir: Path, relative: str) -> bool:
    target = (site_dir / relative).resolve()
    if site_dir.resolve() not in target.parents:
        return False
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    parent = target.parent
    # Drop folders the removal emptied (an unpublished issue's folder).
    while parent != site_dir.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
    return True


def iter_site_files(site_dir: Path) -> Iterator[Path]:
    """The files a web server would serve (the manifest aside)."""
    for path in sorted(Path(site_dir).rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(site_dir).parts)
        if path.is_file() and not hidden:
            yield path
