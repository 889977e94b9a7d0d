"""Every path the program uses: the project's files and folders, and what the package ships.

A project folder holds `feeds.yaml`, `issues/` (one folder per issue date), the state folder
`state/`, the cache folder `.digest/`, the site output and, optionally, its own `templates/`,
whose files take the place of the packaged ones of the same name.

What cannot be rebuilt and must be backed up (IRREPLACEABLE): `state/` (the item store with
the send log and unsubscribes, the unsubscribe key), `issues/` (drafts and published issues)
and `feeds.yaml`. What can be rebuilt: `.digest/` (the scheduler's job store, locks) and the
site output (`digest site --full`). `backups/` holds copies made by `digest backup`. Projects
made before the split kept everything in `.digest/`; digest/state.py moves the irreplaceable
files out of it.

The package ships the templates, the default feeds.yaml and the demo's sample feeds; they are
found through importlib.resources, so an installed wheel works from any folder.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

CONFIG_NAME = "feeds.yaml"
STATE_DIR = "state"  # irreplaceable: back it up
CACHE_DIR = ".digest"  # rebuildable: job store and locks
LEGACY_STATE_DIR = ".digest"  # where the state lived before it had its own folder
STORE_NAME = "digest.sqlite"  # in STATE_DIR: items, feed health, send log, unsubscribes
KEY_NAME = "unsubscribe.key"  # in STATE_DIR: the secret behind every unsubscribe token
BACKUPS_DIR = "backups"
SCHEDULE_LOCK = "schedule.lock"  # in CACHE_DIR: one scheduler per project
ISSUES_DIR = "issues"
TEMPLATES_DIR = "templates"
IRREPLACEABLE = (STATE_DIR, ISSUES_DIR, CONFIG_NAME)

# The wheel holds templates/ as digest/templates and feeds.yaml as digest/defaults/feeds.yaml
# (pyproject.toml maps them). In a source checkout neither is below digest/: they are read
# from where the repository keeps them.
_PACKAGE = Path(str(resources.files("digest")))
_SOURCE_ROOT = _PACKAGE.parent


def _packaged(installed: str, source: Path) -> Path:
    path = _PACKAGE / installed
    return path if path.exists() else source


def packaged_templates() -> Path:
    """The templates shipped with the package (the repository's templates/ folder)."""
    return _packaged(TEMPLATES_DIR, _SOURCE_ROOT / TEMPLATES_DIR)


def default_config() -> Path:
    """The default feeds.yaml shipped with the package (the repository's own)."""
    return _packaged(f"defaults/{CONFIG_NAME}", _SOURCE_ROOT / CONFIG_NAME)


def sample_data() -> Path:
    """The demo's sample feeds."""
    return _PACKAGE / "demo" / "sample_data"


def template_dirs(project_dir: Path | None, subdir: str = "") -> list[Path]:
    """Where templates are looked up, first match wins: the project's, then the package's."""
    dirs = [packaged_templates() / subdir]
    if project_dir is not None:
        own = project_dir / TEMPLATES_DIR / subdir
        if own.is_dir() and own.resolve() != dirs[0].resolve():
            dirs.insert(0, own)
    return dirs


def issue_dir(issues_dir: Path, issue_date: date) -> Path:
    """The folder of one issue: issues/YYYY-MM-DD."""
    return issues_dir / issue_date.isoformat()


def find_project(start: Path) -> Path | None:
    """The folder holding feeds.yaml: `start` or its nearest parent, as git finds a repository."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None
