"""Golden output: the sample issue's email HTML and text, compared with committed files.

The files change only on purpose. After a deliberate change to the templates or to
digest/render.py, look at the diff, then regenerate them with:

    .venv/bin/python tests/publish/test_render_golden.py --regenerate
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make tests/support importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from support.samples import NOW, sample_config, sample_issue

from digest.publish.email import render

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FILES = {"sample_email.html": "html", "sample_email.txt": "text"}
REGENERATE = ".venv/bin/python tests/publish/test_render_golden.py --regenerate"


def rendered_files() -> dict[str, str]:
    rendered = render.render_issue(sample_issue(), sample_config(), now=NOW)
    return {name: getattr(rendered, field) for name, field in FILES.items()}


@pytest.mark.parametrize("name", sorted(FILES))
def test_matches_golden(name: str) -> None:
    path = GOLDEN / name
    assert path.exists(), f"{path} is missing; create it with `{REGENERATE}`"
    expected = path.read_text(encoding="utf-8")
    actual = rendered_files()[name]
    if actual != expected:
        # The HTML is a few long lines: diff it tag by tag to show where it moved.
        split = (
            (lambda s: s.replace(">", ">\n").splitlines())
            if name.endswith(".html")
            else str.splitlines
        )
        diff = "\n".join(
            list(
                difflib.unified_diff(
                    split(expected), split(actual), "golden", "rendered", lineterm=""
                )
            )[:60]
        )
        pytest.fail(
            f"{name} differs from the golden file:\n{diff}\n"
            f"If the change is intended, run `{REGENERATE}`"
        )


def regenerate() -> None:
    for name, content in rendered_files().items():
        path = GOLDEN / name
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path} ({len(content.encode('utf-8'))} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: {REGENERATE}")
    regenerate()
