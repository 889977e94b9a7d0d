"""`digest init`: a new project folder with everything a first `digest fetch` needs.

    DIR/feeds.yaml   the packaged default (commented: every key says what it does)
    DIR/issues/      one folder per issue, made by `digest draft`
    DIR/.gitignore   the state (state/), the cache (.digest/), backups/ and the built site
                     (site/) stay out of git

An existing feeds.yaml is never overwritten; existing issues/ and .gitignore are kept.
"""

from __future__ import annotations

from pathlib import Path

from digest._util.fs import atomic_write
from digest.errors import UsageError
from digest.paths import (
    BACKUPS_DIR,
    CACHE_DIR,
    CONFIG_NAME,
    ISSUES_DIR,
    STATE_DIR,
    default_config,
)

GITIGNORE = f"""\
# Written by `digest init`. The cache and the built site are rebuilt anywhere. The state
# (the store, the unsubscribe key) cannot be rebuilt: it is kept by `digest backup`, not git.
{CACHE_DIR}/
site/
{STATE_DIR}/
{BACKUPS_DIR}/
"""


def init_project(directory: Path) -> list[Path]:
    """Create the project in `directory`; the paths created, in order."""
    config = directory / CONFIG_NAME
    if config.exists():
        raise UsageError(
            f"{config} already exists; `digest init` never overwrites it: edit it, or"
            " init another folder",
            path=config,
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        created = [config]
        atomic_write(config, default_config().read_bytes())
        issues = directory / ISSUES_DIR
        if not issues.is_dir():
            issues.mkdir()
            created.append(issues)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            atomic_write(ignore, GITIGNORE)
            created.append(ignore)
    except OSError as exc:
        raise UsageError(
            f"cannot create the project ({exc.strerror}); choose a folder you can write to",
            path=directory,
        ) from exc
    return created
