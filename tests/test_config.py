"""feeds.yaml: the shipped configuration is valid; the loader types and locates everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.repo import REPO

from digest.config import Config, load_config, read_config
from digest.errors import ConfigError


def test_the_shipped_feeds_yaml_is_valid() -> None:
    config = load_config(REPO)
    assert isinstance(config, Config)
    assert len(config.feeds) >= 10
    assert {f.lang for f in config.feeds} == {"en", "ja"}
    assert {"government", "wire", "press", "think_tank"} <= {f.kind for f in config.feeds}
    assert config.digest.title.format(volume=4, number=23) == "US-Japan Alliance Digest Vol 4.23"
    assert config.cadence.days == (1, 15)
    assert config.cadence.window_days == 14
    assert str(config.tz) == "America/New_York"


def load(tmp_path: Path, text: str) -> tuple[Config | None, list[str]]:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    config, problems = read_config(path)
    return config, [str(p).removeprefix(f"{path}:") for p in problems]


def test_types_are_converted_and_defaults_filled(tmp_path: Path) -> None:
    config, problems = load(
        tmp_path,
        "fetch:\n  timeout_s: 5\nfeeds:\n  - {name: A, url: 'https://a.example/rss', lang: ja}\n",
    )
    assert problems == []
    assert config is not None
    assert config.fetch.timeout_s == 5.0 and isinstance(config.fetch.timeout_s, float)
    assert config.feeds[0].lang == "ja" and config.feeds[0].kind == "press"
    assert config.project_dir == tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cadence:\n  timezone: Mars/Olympus\nfeeds: []\n",
            "2: error: cadence.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            "fetch:\n  timeout_s: soon\n",
            "2: error: fetch.timeout_s: expected a number, got str 'soon'",
        ),
        (
            "feeds:\n  - name: A\n    url: https://a.example/\n  - name: A\n    url: https://b.example/\n",
            "4: error: feeds[1].name: 'A' is already used by feeds[0]",
        ),
        ("editors: someone@example.org\n", "1: error: editors: expected a list"),
        ("digest:\n  title: 'Vol {vol}'\n", "2: error: digest.title: bad pattern"),
        (
            "feeds:\n  - name: A\n    url: https://a.example/\n    lang: jp\n",
            "4: error: feeds[0].lang: 'jp' is not one of 'en', 'ja' (did you mean 'ja'?)",
        ),
    ],
)
def test_problems_are_located_and_explained(tmp_path: Path, text: str, expected: str) -> None:
    config, problems = load(tmp_path, text)
    assert config is None
    assert any(p.startswith(expected) for p in problems), problems


def test_load_config_raises_for_the_first_problem_and_counts_the_rest(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "digest:\n  titel: x\n  orgnisation: y\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.exit_code == 2
    assert caught.value.line == 2
    assert "(and 2 more; run `digest check`)" in str(caught.value)


def test_a_non_utf8_file_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_bytes("feeds: []\n# 日米\n".encode("shift_jis"))
    _, problems = read_config(tmp_path / "feeds.yaml")
    assert "is not UTF-8 text" in str(problems[0])
