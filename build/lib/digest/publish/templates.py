"""The Jinja environments of every output, over the project's templates, then the package's.

One place sets the options every template relies on (strict undefined values, trimmed
blocks, kept trailing newlines); the email, the site and the preview differ only in
escaping and filters. A project overrides a template by holding a file of the same name
in its own `templates/` folder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from digest import paths

Autoescape = bool | Callable[[str | None], bool]


@dataclass(frozen=True)
class TemplateSet:
    """The folders templates are looked up in, first match wins."""

    dirs: tuple[Path, ...]

    def path(self, name: str) -> Path:
        """The file a template name resolves to (the packaged one if no folder holds it)."""
        for directory in self.dirs:
            if (directory / name).is_file():
                return directory / name
        return self.dirs[-1] / name

    def environment(self, *, autoescape: Autoescape = True,
                    finalize: Callable[[Any], Any] | None = None,
                    filters: Mapping[str, Callable[..., Any]] | None = None) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.dirs),
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            finalize=finalize,
        )
        env.filters.update(filters or {})
        return env


@functools.cache
def templates_for(project_dir: Path | None, subdir: str = "") -> TemplateSet:
    """The templates of a project (None: the packaged ones only)."""
    return TemplateSet(tuple(paths.template_dirs(project_dir, subdir)))
