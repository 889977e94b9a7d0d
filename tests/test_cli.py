"""The CLI: every command has help with an example; errors are one line with an exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from support.repo import REPO

from digest.cli import main

COMMANDS = sorted(main.commands)


def test_the_promised_commands_exist() -> None:
    promised = {
        "fetch",
        "draft",
        "run",
        "status",
        "check",
        "render",
        "preview",
        "publish",
        "send",
        "schedule",
        "demo",
    }
    assert promised <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`digest {name} --help` shows no example"
    command = main.commands[name]
    assert command.help and len(command.help.splitlines()[0]) > 10


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented(name: str) -> None:
    for param in main.commands[name].params:
        if isinstance(param, click.Option):
            assert param.help, f"`digest {name} {param.opts[0]}` has no help text"


def test_project_commands_share_the_project_option() -> None:
    for name in set(COMMANDS) - {"demo", "init"}:
        command = main.commands[name]
        # A group (`digest feeds`) has it on each of its subcommands.
        leaves = command.commands.values() if isinstance(command, click.Group) else [command]
        for leaf in leaves:
            options = {opt for p in leaf.params for opt in p.opts}
            assert "--project" in options, f"{name} {leaf.name}"


SUBCOMMANDS = [
    (name, sub)
    for name, command in main.commands.items()
    if isinstance(command, click.Group)
    for sub in command.commands
]


@pytest.mark.parametrize(("group", "name"), SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example_and_documented_options(
    group: str, name: str
) -> None:
    result = CliRunner().invoke(main, [group, name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`digest {group} {name} --help` shows no example"
    command = main.commands[group].commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"`digest {group} {name} {param.opts[0]}` has no help text"


def write_project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], capture_output=True, text=True, timeout=60
    )


BROKEN_CONFIGS = {
    "typo": (
        "feeds:\n  - name: A\n    url: https://a.example/feed\n    lnag: en\n",
        "feeds.yaml:4: feeds[0].lnag: unknown key; did you mean `lang`?",
    ),
    "missing url": (
        "feeds:\n  - name: A\n    lang: en\n",
        "feeds.yaml:2: feeds[0].url: missing; add `url:` to this entry",
    ),
    "invalid yaml": (
        "feeds:\n  - name: A\n    url: [https://a.example\n",
        "feeds.yaml:4: invalid YAML",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONFIGS))
def test_a_broken_config_gives_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    text, expected = BROKEN_CONFIGS[case]
    project = write_project(tmp_path, text)
    result = run_cli("status", "--project", str(project))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert f"{project}/{expected}" in lines[0]


def test_a_missing_config_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("fetch", "--project", str(tmp_path))
    assert result.returncode == 2
    assert f"no feeds.yaml in {tmp_path}" in result.stderr
    assert f"digest init {tmp_path}" in result.stderr


def test_check_lists_every_problem(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "digest:\n  titel: x\ncadence:\n  days: [1, 40]\n"
        "feeds:\n  - name: A\n    url: ftp://a.example/feed\n    kind: newspaper\n",
    )
    result = run_cli("check", "--project", str(project))
    assert result.returncode == 2
    out = result.stdout
    assert "feeds.yaml:2: error: digest.titel: unknown key; did you mean `title`?" in out
    assert "feeds.yaml:4: error: cadence.days:" in out
    assert "feeds.yaml:6: error: feeds[0].url: must be an http:// or https:// URL" in out
    assert "feeds.yaml:8: error: feeds[0].kind: 'newspaper' is not one of" in out


def test_bad_usage_exits_2() -> None:
    result = CliRunner().invoke(main, ["draft", "--date", "tomorrow"])
    assert result.exit_code == 2


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`digest {name}" in readme, f"README.md does not document `digest {name}`"
