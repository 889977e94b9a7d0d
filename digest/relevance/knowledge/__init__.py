"""The relevance knowledge shipped with the package, read once: entities of both sides
(entities.yaml) and the vocabularies of the scope's shapes (shapes.yaml), each file
carrying the date it was last reviewed.

An entity's names join its side's list ("A | B | C" is one concept); a shape list joins the
category the shape rules in digest.relevance.score look for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from ruamel.yaml import YAML


@dataclass(frozen=True)
class Knowledge:
    """Term lists by side and by shape, as rule entries ("A | B")."""

    us: tuple[str, ...]
    japan: tuple[str, ...]
    us_companies: tuple[str, ...]
    japan_companies: tuple[str, ...]
    shapes: tuple[tuple[str, tuple[str, ...]], ...]  # (list name, entries)
    reviewed: date


def _read(name: str) -> Any:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return YAML(typ="safe").load(text)


@functools.lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    entities = _read("entities.yaml")
    shapes = _read("shapes.yaml")
    sides: dict[str, list[str]] = {"us": [], "japan": []}
    companies: dict[str, list[str]] = {"us": [], "japan": []}
    for entity in entities["entities"]:
        entry = " | ".join(str(n) for n in entity["names"])
        sides[entity["side"]].append(entry)
        if entity.get("kind") == "company":
            companies[entity["side"]].append(entry)
    lists = tuple(
        (name, tuple(str(e) for e in entries)) for name, entries in shapes["lists"].items()
    )
    reviewed = min(_as_date(entities["reviewed"]), _as_date(shapes["reviewed"]))
    return Knowledge(
        us=tuple(sides["us"]),
        japan=tuple(sides["japan"]),
        us_companies=tuple(companies["us"]),
        japan_companies=tuple(companies["japan"]),
        shapes=lists,
        reviewed=reviewed,
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
