"""The vocabulary of Alliance Digest: frozen values that flow between the stages.

A name says where a value is in the pipeline::

    FeedSource --fetch--> Fetched --parse--> Parsed(Item...) --store--> Item
    Item --filter--> Scored --cluster--> Candidate --draft--> Draft
    Draft --render--> Issue --> Rendered --archive/send--> site pages, mail

Every timestamp is timezone-aware UTC unless its name says otherwise.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

SourceKind = Literal["government", "wire", "press", "think_tank", "blog", "other"]
Lang = Literal["en", "ja"]
CandidateStatus = Literal["new", "picked", "rejected", "held"]
CANDIDATE_STATUSES: tuple[CandidateStatus, ...] = ("new", "picked", "rejected", "held")


@dataclass(frozen=True)
class FeedSource:
    """One entry of the `feeds:` list of feeds.yaml."""

    name: str
    url: str
    lang: Lang = "en"
    kind: SourceKind = "press"
    enabled: bool = True


@dataclass(frozen=True)
class Validators:
    """What a server told us last time, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True)
class Fetched:
    """The outcome of fetching one feed: a body, 'not modified', or an error; never an exception."""

    source: FeedSource
    status: int | None = None
    body: bytes | None = None
    content_type: str | None = None
    final_url: str | None = None
    validators: Validators = field(default_factory=Validators)
    not_modified: bool = False
    error: str | None = None
    gone: bool = False
    permanent_redirect: str | None = None
    elapsed_s: float = 0.0
    bytes_read: int = 0
    max_age_s: float | None = None  # Cache-Control: max-age of the answer

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Item:
    """One normalised news item: plain text, a canonical URL and a UTC time."""

    id: str
    feed: str
    url: str
    title: str
    summary: str
    published: datetime
    lang: Lang
    kind: SourceKind = "press"
    dated: bool = True
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parsed:
    """Items recovered from one feed document plus why the document was malformed, if it was."""

    source: FeedSource
    items: tuple[Item, ...]
    problem: str | None = None


@dataclass(frozen=True)
class Reason:
    """One piece of evidence for an item's relevance, shown to the editor as `why`."""

    rule: str
    field: str
    terms: tuple[str, ...]
    points: float

    def __str__(self) -> str:
        words = ", ".join(self.terms)
        return f"{self.rule} in {self.field}: {words} ({self.points:+.1f})"


@dataclass(frozen=True)
class Scored:
    """An item with its alliance-relevance score, the reasons for it and a suggested section."""

    item: Item
    score: float
    reasons: tuple[Reason, ...]
    section: str | None
    relevant: bool


@dataclass(frozen=True)
class Outlet:
    """Another outlet carrying the same story."""

    name: str
    url: str


@dataclass(frozen=True)
class Candidate:
    """A story the program proposes for the issue: the best item of a cluster plus its copies."""

    id: str
    title: str
    url: str
    source: str
    published: datetime
    score: float
    why: tuple[str, ...]
    section: str | None
    summary: str
    lang: Lang = "en"
    also: tuple[Outlet, ...] = ()
    dated: bool = True  # False: the feed gave no date; `published` is when it was fetched


@dataclass(frozen=True)
class Selection:
    """What relevance hands the draft: the candidates, best first, and the items just below
    the threshold (near misses, with their reasons) so the editor sees what was almost taken."""

    candidates: tuple[Candidate, ...]
    near_misses: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class EditorDecision:
    """A candidate an editor decided on in an earlier draft: what it said, and the verdict.
    Relevance learns from these (pipeline reads them through editorial and passes them in)."""

    issue_date: date
    title: str
    summary: str
    source: str
    status: Literal["picked", "rejected", "held"]


@dataclass(frozen=True)
class IssueWindow:
    """The issue's date and the stretch of news it covers (start inclusive, end exclusive)."""

    date: date
    start: datetime
    end: datetime
    volume: int
    number: int
    skipped: tuple[_dt.date, ...] = ()  # cadence dates without an issue, covered by this window


@dataclass(frozen=True)
class SourceLink:
    """A link under a story paragraph, shown by outlet name."""

    name: str
    url: str


@dataclass(frozen=True)
class IssueStory:
    """A story as it will be published."""

    headline: str
    body: str
    sources: tuple[SourceLink, ...]
    section: str | None
    anchor: str


@dataclass(frozen=True)
class Issue:
    """Everything the renderers need for one issue, already checked and resolved."""

    date: date
    title: str
    volume: int
    number: int
    stories: tuple[IssueStory, ...]
    preheader: str
    intro: str = ""
    image: str | None = None
    image_alt: str = ""
    image_credit: str = ""
    published_at: datetime | None = None
    corrections: tuple[tuple[str, str], ...] = ()
    # "standard": a heading, paragraphs and a Sources line per story; "digest": the
    # headline list, then one paragraph per story naming its outlets (the printed digest).
    layout: str = "standard"
    headlines_label: str = ""  # the label above the headline list; empty: the default


@dataclass(frozen=True)
class Rendered:
    """An issue rendered for mail: HTML, its plain-text twin and the MIME message."""

    subject: str
    html: str
    text: str
    eml: bytes


@dataclass(frozen=True)
class FeedReport:
    """One line of a fetch run's summary."""

    feed: str
    # skipped: waiting out a backoff after failures; not_due: its next poll is still ahead
    outcome: Literal["fetched", "not_modified", "unchanged", "failed", "skipped", "gone", "not_due"]
    new_items: int = 0
    items: int = 0
    detail: str = ""


@dataclass(frozen=True)
class RunReport:
    """The summary of one `digest fetch`."""

    feeds: tuple[FeedReport, ...]
    started: datetime
    finished: datetime

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.feeds if f.outcome == outcome)

    @property
    def new_items(self) -> int:
        return sum(f.new_items for f in self.feeds)


@dataclass(frozen=True)
class Problem:
    """One finding of `digest check` or of config validation, located for the editor."""

    path: str
    line: int | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class FeedHealth:
    """How a feed has been doing, for `digest status` and the draft's comment block."""

    feed: str
    url: str
    last_success: datetime | None
    last_error: str | None
    consecutive_failures: int
    items_14d: int
    quiet_days: int | None
    gone: bool = False
    next_attempt: datetime | None = None
    moved_to: str | None = None  # a permanent redirect: update the feed's url in feeds.yaml
    poll_every: timedelta | None = None  # the feed's own polling interval (digest.ingest.polling)
    next_fetch: datetime | None = None
    possible_gaps: int = 0  # fetches in the health window that suggest items were missed

    @property
    def failing(self) -> bool:
        return self.gone or self.consecutive_failures > 0


@dataclass(frozen=True)
class DraftSummary:
    """What `digest draft` did to a draft file."""

    path: str
    added: int
    counts: tuple[tuple[str, int], ...]
    stories: int
