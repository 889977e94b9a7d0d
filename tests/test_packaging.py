"""The wheel holds every package: pyproject.toml lists them by hand (two are mapped from
folders outside digest/), so a new subpackage must be added there."""

from __future__ import annotations

import tomllib

from support.repo import REPO

from digest import paths


def _listed_packages() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_folder_of_the_package_is_listed_in_pyproject() -> None:
    folders = {
        ".".join(path.parent.relative_to(REPO).parts)
        for path in (REPO / "digest").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert folders - _listed_packages() == set()


def test_templates_and_the_default_config_are_found_as_package_resources() -> None:
    assert (paths.packaged_templates() / "email.mjml.j2").is_file()
    assert (paths.packaged_templates() / "site" / "issue.html").is_file()
    assert paths.default_config().read_text(encoding="utf-8").startswith("#")
    assert sorted(paths.sample_data().glob("*.yaml"))
