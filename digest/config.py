"""feeds.yaml -> Config: typed, validated, every problem located at file:line.

The schema *is* the dataclasses below: a YAML mapping is read into a dataclass by its
field names and type hints, so adding a setting means adding a field with a default.
Unknown keys are refused with the nearest valid name; values are checked against their
type (and a field's `check`, if it has one). All problems are collected, so
`digest check` can list every one; `load_config` raises a ConfigError for the first.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from digest._util.cron import cron_trigger
from digest.errors import ConfigError
from digest.models import FeedSource, Problem
from digest.paths import BACKUPS_DIR, CACHE_DIR, CONFIG_NAME, ISSUES_DIR, STATE_DIR, issue_dir
from digest.state import migrate_legacy_state

Check = Callable[[Any], str | None]


def _checked(default: Any, check: Check) -> Any:
    """A dataclass field with a default and a value check run at load time."""
    return field(default=default, metadata={"check": check})


def _http_url(value: str) -> str | None:
    if not re.match(r"^https?://[^\s/]+", value):
        return "must be an http:// or https:// URL"
    return None


def _optional_http_url(value: str) -> str | None:
    return _http_url(value) if value else None


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}; use an IANA name such as America/New_York"
    return None


def _days_of_month(value: tuple[int, ...]) -> str | None:
    if not value or any(not 1 <= d <= 28 for d in value):
        return "list days of the month between 1 and 28, e.g. [1, 15]"
    return None


def _cron(value: str) -> str | None:
    try:
        cron_trigger(value, ZoneInfo("UTC"))
    except ValueError as exc:
        return f"{value!r} is not a cron expression ({exc}); use 'minute hour day month weekday'"
    return None


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _percent(value: float) -> str | None:
    return None if 0 <= value <= 100 else "must be between 0 and 100"


def _time_of_day(value: str) -> str | None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return f"{value!r} is not a time of day; write HH:MM, e.g. '00:00' or '18:30'"
    return None


def _optional_positive(value: int | None) -> str | None:
    return None if value is None or value > 0 else "must be greater than 0"


def _date_format(value: str) -> str | None:
    fields = {"month": "May", "mon": "May", "day": 1, "month_number": 5, "year": 2026}
    try:
        value.format_map(fields)
    except (KeyError, IndexError, ValueError) as exc:
        names = "{month}, {mon}, {day}, {month_number} and {year}"
        return f"bad date format ({exc}); use {names}"
    return None


def _title_pattern(value: str) -> str | None:
    try:
        value.format(volume=1, number=1)
    except (KeyError, IndexError, ValueError) as exc:
        example = "'Vol {volume}.{number}'"
        return f"bad pattern ({exc}); use {{volume}} and {{number}}, e.g. {example}"
    return None


@dataclass(frozen=True)
class Identity:
    """Who publishes the digest and how an issue is named."""

    title: str = _checked("US-Japan Alliance Digest Vol {volume}.{number}", _title_pattern)
    organisation: str = "Sasakawa Peace Foundation USA"
    program: str = "US-Japan NEXT Alliance Initiative"
    lang: Literal["en", "ja"] = "en"
    first_year: int = 2022  # the series' Vol 1 (the real digest counts 2022 as Vol 1)
    # The number the first issue this project publishes in that year takes (a project
    # taking over a running series); later years start at 1.
    first_number: int | None = _checked(None, _optional_positive)
    base_url: str = _checked("https://spfusa.org/alliance-digest/", _http_url)
    contact_url: str = _checked("https://spfusa.org/contact/", _http_url)
    sender: str = "US-Japan NEXT Alliance Initiative <digest@spfusa.org>"
    subject: str = "{title} ({date})"
    list_id: str = "US-Japan Alliance Digest <alliance-digest.spfusa.org>"
    postal_address: str = "1819 L Street NW, Suite 300, Washington, DC 20036, USA"
    unsubscribe_url: str = ""
    # One date style for the email, the PDF, the archive and its search: {month} (name),
    # {mon} (abbreviated), {day}, {month_number} and {year}; a Japanese digest uses 年月日.
    date_format: str = _checked("{month} {day}, {year}", _date_format)
    subscribe_url: str = _checked("", _optional_http_url)  # empty: the archive's front page
    # The footer's "why you are getting this" line; {organisation} and {program} are filled.
    why: str = "You are receiving this because you subscribed to the {program} digest."


@dataclass(frozen=True)
class Cadence:
    """When issues appear and which news they cover."""

    days: tuple[int, ...] = _checked((1, 15), _days_of_month)
    window_days: int = _checked(14, _positive)
    timezone: str = _checked("America/New_York", _timezone)
    # An issue's news ends (and the next one's begins) at this time on its date, local time.
    cutoff: str = _checked("00:00", _time_of_day)


@dataclass(frozen=True)
class Section:
    """A section of the issue and the topic terms that suggest it."""

    name: str
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Weights:
    """Points each kind of evidence earns; the editor sees them in every reason."""

    phrase_title: float = 5.0
    phrase_summary: float = 3.5
    pair_title: float = 2.75
    pair_sentence: float = 2.5
    pair_apart: float = 1.5
    named: float = 0.5
    shape: float = 3.0  # one of the scope's shapes (Japan-Korea thaw, treaty ally pact ...)
    topic: float = 0.75
    topic_max: float = 3.0
    exclusion: float = -6.0
    soft_exclusion: float = -2.0
    fresh_max: float = 1.0
    per_outlet: float = 0.5
    outlets_max: float = 2.0
    editor_like: float = 0.5  # each past decision a candidate is like (ranking only)
    editor_like_max: float = 2.0


@dataclass(frozen=True)
class SourcePoints:
    """Ranking points by the kind of source (feeds.yaml `kind:`)."""

    government: float = 1.5
    wire: float = 1.0
    press: float = 0.5
    think_tank: float = 0.5
    blog: float = 0.0
    other: float = 0.0


@dataclass(frozen=True)
class Rules:
    """Bilingual relevance rules; see digest.relevance.score for how each list is used."""

    us_terms: tuple[str, ...] = ()
    japan_terms: tuple[str, ...] = ()
    alliance_phrases: tuple[str, ...] = ()
    us_people: tuple[str, ...] = ()
    japan_people: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    soft_exclusions: tuple[str, ...] = ()
    false_friends: tuple[str, ...] = ()
    other_countries: tuple[str, ...] = ()  # 露, 中国: their 外相 is not Japan's
    min_score: float = 3.0
    sections: tuple[Section, ...] = ()
    default_section: str = "Diplomacy"
    weights: Weights = field(default_factory=Weights)
    source_points: SourcePoints = field(default_factory=SourcePoints)
    fresh_days: float = _checked(14.0, _positive)
    cluster_hours: float = _checked(72.0, _positive)
    cluster_similarity: float = _checked(70.0, _percent)
    # Undecided candidates listed in a draft, best first; the rest: `digest candidates`.
    max_candidates: int = _checked(150, _positive)
    near_misses: int = 20  # items just below min_score listed after the candidates
    learn_from_editor: bool = True  # past drafts' picks and rejections adjust the ranking
    knowledge: bool = True  # the entity lists shipped in digest/relevance/knowledge/


@dataclass(frozen=True)
class FetchSettings:
    """How politely and how hard feeds are fetched."""

    timeout_s: float = _checked(20.0, _positive)  # total per feed, retries included
    connect_timeout_s: float = _checked(10.0, _positive)
    read_timeout_s: float = _checked(10.0, _positive)  # silence between bytes
    concurrency: int = _checked(256, _positive)  # sockets in flight; per_host keeps it polite
    per_host: int = _checked(4, _positive)
    max_bytes: int = _checked(10_000_000, _positive)
    retries: int = 2
    max_redirects: int = 5
    # Who fetches and how to reach them; empty: "AllianceDigest/<version> (<organisation>;
    # +<contact_url>)". {version} is replaced by the program's version.
    user_agent: str = ""
    # Each feed's own polling interval stays within these (digest/ingest/polling.py).
    min_poll_minutes: float = _checked(15.0, _positive)
    max_poll_hours: float = _checked(24.0, _positive)
    default_poll_hours: float = _checked(1.0, _positive)  # a feed whose items have no dates


@dataclass(frozen=True)
class ScheduleSettings:
    """The unattended job: fetch often, draft on issue days."""

    # The fetch job wakes this often and fetches only the feeds that are due (each feed has
    # its own interval); fetch_every_hours, if given, overrides it (older projects).
    wake_every_minutes: float = _checked(5.0, _positive)
    fetch_every_hours: float | None = _checked(None, _positive)
    jitter_minutes: int = 0
    draft_cron: str = _checked("0 7 1,15 * *", _cron)
    timezone: str = _checked("America/New_York", _timezone)
    # A run missed while the server was down is made up once if it is at most this late.
    misfire_grace_hours: float = _checked(24.0, _positive)


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes; credentials come from the environment variables named here."""

    host: str = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = "DIGEST_SMTP_USER"
    password_env: str = "DIGEST_SMTP_PASSWORD"
    rate_per_minute: int = _checked(60, _positive)
    # DKIM signing of every message sent (all three, or none): see README "Sending".
    dkim_key_file: str = ""
    dkim_selector: str = ""
    dkim_domain: str = ""


@dataclass(frozen=True)
class SiteSettings:
    """The archive site: where it is written and where it is served from."""

    dir: str = "site"
    base_url: str = _checked("https://spfusa.org/alliance-digest/", _http_url)
    title: str = "US-Japan Alliance Digest"
    feed_entries: int = _checked(50, _positive)  # newest issues carried in feed.xml
    pdf_paper: Literal["letter", "a4"] = "letter"  # the PDF of each issue


@dataclass(frozen=True)
class BackupSettings:
    """The scheduler's own backups of what cannot be rebuilt (`digest backup` by hand)."""

    dir: str = BACKUPS_DIR  # relative to the project folder, or absolute
    keep: int = _checked(
        7, lambda n: "must be 0 or more" if n < 0 else None
    )  # the newest N daily backups are kept; 0: the scheduler makes none
    every_hours: float = _checked(24.0, _positive)


@dataclass(frozen=True)
class Config:
    """The whole of feeds.yaml."""

    digest: Identity = field(default_factory=Identity)
    cadence: Cadence = field(default_factory=Cadence)
    feeds: tuple[FeedSource, ...] = ()
    rules: Rules = field(default_factory=Rules)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    editors: tuple[str, ...] = ()
    path: Path = Path(CONFIG_NAME)

    @property
    def project_dir(self) -> Path:
        return self.path.parent

    @property
    def state_dir(self) -> Path:
        return self.project_dir / STATE_DIR

    @property
    def cache_dir(self) -> Path:
        return self.project_dir / CACHE_DIR

    @property
    def backups_dir(self) -> Path:
        return self.project_dir / self.backup.dir

    @property
    def issues_dir(self) -> Path:
        return self.project_dir / ISSUES_DIR

    def issue_dir(self, issue_date: date) -> Path:
        return issue_dir(self.issues_dir, issue_date)

    @property
    def site_dir(self) -> Path:
        return self.project_dir / self.site.dir

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.cadence.timezone)


# Keys of feeds.yaml that map to a differently named field.
_FIELD_ALIASES = {"from": "sender"}
_NOT_IN_YAML = {"path"}


class _Reader:
    """Turns a ruamel node tree into dataclasses, collecting located problems."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, f"{key}: {message}"))

    def build(self, cls: type, node: Any, key: str, line: int | None) -> Any:
        if not isinstance(node, dict):
            self.problem(line, key, f"expected a mapping of settings, got {_kind(node)}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_IN_YAML}
        values: dict[str, Any] = {}
        for raw_key, raw_value in node.items():
            name = _FIELD_ALIASES.get(str(raw_key), str(raw_key))
            at_line = key_line(node, raw_key)
            dotted = f"{key}.{raw_key}" if key else str(raw_key)
            if name not in fields:
                self.problem(at_line, dotted, _unknown_key_message(str(raw_key), fields))
                continue
            value = self.convert(hints[name], raw_value, dotted, _value_line(node, raw_key))
            check = fields[name].metadata.get("check")
            if value is not None and check is not None and (message := check(value)):
                self.problem(at_line, dotted, message)
                continue
            if value is not None:
                values[name] = value
        for name, f in fields.items():
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and name not in values:
                where = f"{key}.{name}" if key else name
                self.problem(line, where, f"missing; add `{name}:` to this entry")
                return None
        return cls(**values)

    def convert(self, hint: Any, node: Any, key: str, line: int | None) -> Any:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            if node is None and type(None) in args:
                return None
            (inner,) = [a for a in args if a is not type(None)]
            return self.convert(inner, node, key, line)
        if origin is Literal:
            if node not in args:
                choices = ", ".join(repr(a) for a in args)
                near = difflib.get_close_matches(str(node), [str(a) for a in args], n=1, cutoff=0.5)
                hint_text = f" (did you mean {near[0]!r}?)" if near else ""
                self.problem(line, key, f"{node!r} is not one of {choices}{hint_text}")
                return None
            return node
        if origin is tuple:
            return self.convert_list(args[0], node, key, line)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.build(hint, node, key, line)
        return self.convert_scalar(hint, node, key, line)

    def convert_list(self, item_hint: Any, node: Any, key: str, line: int | None) -> Any:
        if node is None:
            return ()
        if not isinstance(node, list):
            self.problem(line, key, f"expected a list, got {_kind(node)}; write it as `[a, b]`")
            return None
        out = []
        for index, element in enumerate(node):
            element_line = item_line(node, index, line)
            value = self.convert(item_hint, element, f"{key}[{index}]", element_line)
            if value is not None:
                out.append(value)
        return tuple(out)

    def convert_scalar(self, hint: Any, node: Any, key: str, line: int | None) -> Any:
        if hint is float and isinstance(node, int) and not isinstance(node, bool):
            return float(node)
        if hint is str and isinstance(node, (int, float)) and not isinstance(node, bool):
            return str(node)
        if hint in (str, int, float, bool) and (type(node) is hint or isinstance(node, hint)):
            if hint is int and isinstance(node, bool):
                self.problem(line, key, "expected a whole number, got true/false")
                return None
            return hint(node) if hint is str else node
        expected = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
        self.problem(line, key, f"expected {expected.get(hint, hint)}, got {_kind(node)}")
        return None


def _kind(node: Any) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, dict):
        return "a mapping"
    if isinstance(node, list):
        return "a list"
    if isinstance(node, bool):
        return f"{str(node).lower()}"
    return f"{type(node).__name__} {node!r}"


def _unknown_key_message(key: str, fields: dict[str, Any]) -> str:
    valid = sorted({_yaml_name(n) for n in fields})
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if near:
        return f"unknown key; did you mean `{near[0]}`?"
    return f"unknown key; valid keys here are: {', '.join(valid)}"


def _yaml_name(field_name: str) -> str:
    for yaml_key, name in _FIELD_ALIASES.items():
        if name == field_name:
            return yaml_key
    return field_name


def key_line(node: Any, key: Any) -> int | None:
    """The 1-based line of a mapping key in a ruamel round-trip tree, if it knows it."""
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return None


def _value_line(node: Any, key: Any) -> int | None:
    try:
        return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return key_line(node, key)


def item_line(node: Any, index: int, fallback: int | None = None) -> int | None:
    """The 1-based line of a sequence item in a ruamel round-trip tree, else `fallback`."""
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return fallback


def _check_feeds(config: Config, raw: Any, reader: _Reader) -> None:
    """Rules that span entries: unique feed names, http(s) URLs."""
    raw_feeds = raw.get("feeds") if isinstance(raw, dict) else None
    seen: dict[str, int] = {}
    for index, feed in enumerate(config.feeds):
        line = item_line(raw_feeds, index, None) if raw_feeds is not None else None
        if message := _http_url(feed.url):
            reader.problem(line, f"feeds[{index}].url", f"{message} (got {feed.url!r})")
        if feed.name in seen:
            reader.problem(
                line,
                f"feeds[{index}].name",
                f"{feed.name!r} is already used by feeds[{seen[feed.name]}]; "
                "give each feed its own name",
            )
        seen.setdefault(feed.name, index)
    if not config.feeds:
        reader.problem(None, "feeds", "no feeds listed; add at least one `- name: ... url: ...`")


def read_config(path: Path) -> tuple[Config | None, list[Problem]]:
    """Read feeds.yaml and return the config (None if unusable) with every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [
            Problem(
                str(path),
                None,
                "not found; run `digest demo` for a sample project or pass --project DIR",
            )
        ]
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text ({exc.reason}); save it as UTF-8"
        return None, [Problem(str(path), None, message)]
    try:
        raw = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        return None, [_yaml_problem(path, exc)]
    if raw is None:
        raw = CommentedMap()
    reader = _Reader(path)
    config = reader.build(Config, raw, "", 1)
    if config is not None:
        config = dataclasses.replace(config, path=path)
        _check_feeds(config, raw, reader)
    return (config if not reader.problems else None), reader.problems


def _yaml_problem(path: Path, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    column = f", column {mark.column + 1}" if mark is not None else ""
    what = exc.problem or exc.context or "invalid YAML"
    return Problem(
        str(path),
        line,
        f"invalid YAML{column}: {what}; check the indentation and quoting on this line",
    )


def load_config(project_dir: Path) -> Config:
    """Load `project_dir/feeds.yaml`, raising a ConfigError that names file and line."""
    path = Path(project_dir) / CONFIG_NAME
    config, problems = read_config(path)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more; run `digest check`)" if len(problems) > 1 else ""
        raise ConfigError(first.message + more, path=first.path, line=first.line)
    assert config is not None
    # Every command loads its project here: the one place that moves a pre-split project's
    # store and key into state/ before anything could create new, empty ones.
    migrate_legacy_state(config.project_dir)
    return config
