"""Alliance relevance: bilingual rules -> a score with its reasons -> one candidate per story.

Pure decision code: items, rules and the clock come in, candidates go out. The flow::

    Rules --compile_rules--> Matcher            (once: the terms as three trie regexes)
    Item  --Matcher.score--> Scored             (evidence + source kind + freshness)
          relevant ones --cluster.cluster_stories--> clusters of copies
          clusters --candidates.select_candidates--> Selection (candidates with every copy
          in `also`, then the near misses)

How text is matched (`Matcher.find`):
- Text is NFKC-normalised (full-width Ａ and half-width ｶﾅ fold to their usual forms) and
  every dash to "-", so "U.S.–Japan" and "Ｕ．Ｓ．" read as "U.S.-Japan" and "U.S.".
- An English term matches whole words only, with its plural (missile -> missiles). It is
  case-sensitive when it has no lowercase letter (US, SDF, SOFA: "us" and "sofa" are not
  them; F-35s is F-35), for people (Glass, not glass) and for a single capitalised word,
  which is a proper noun (Quad, Marine, Osprey: not "quad-core", "marine life", the bird),
  matched as written or in capitals; other terms ignore case.
- A Japanese term matches as a substring (Japanese has no spaces between words).
- `false_friends` are longer words that contain a term but mean something else (米価 is rice,
  南米 South America, "Washington Post" a newspaper): the leftmost-longest match wins, so a
  term inside a false friend is not counted.
- A list entry "Hegseth | ヘグセス" is one concept in two spellings; reasons show the word
  found, clustering compares concepts so English and Japanese copies of a story meet.

How an item is scored (`Rules.weights`, shown to the editor as reasons):
- alliance phrases count on their own (title more than summary);
- a US-side and a Japan-side term (people and institutions included) in the title, or in
  one sentence of the summary, count far more than the two sides far apart (in the title
  and the first sentences only), and a little
  more again when one of them is a person named in the people lists;
- section topic terms add points only when there is such US-Japan evidence;
- exclusions (sports, entertainment ...) subtract;
- with no US-Japan pair, one of the scope's shapes (digest.relevance.shapes: the
  Japan-South Korea thaw, a Japan-ally security pact, a third country's reaction ...) counts
  as evidence on its own, shown with its name;
- a place written as a venue ("in Hiroshima", 広島で) is not a side when the item is about a
  multilateral meeting or US-domestic politics ("venue, not actor");
- a pair of nationality words only ("U.S. book finds Japanese publisher") counts once, and
  topics do not lift it, unless the title names an alliance topic;
- a summary that is a photo caption ("... (Name/Agency)") is not read;
- the evidence decides relevance (>= min_score); the source kind, freshness and the number
  of outlets are added afterwards and only change the ranking.

With `Rules.knowledge` the entity and shape lists shipped in digest/relevance/knowledge/
join the lists of feeds.yaml.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from digest._util.text import detect_lang
from digest.config import Rules
from digest.models import Item, Reason, Scored
from digest.relevance.knowledge import load_knowledge
from digest.relevance.shapes import (
    CHINA,
    JAPAN_COMPANY,
    MULTILATERAL,
    NATIONALITY,
    NOT_SHAPE,
    SHAPE_LISTS,
    SHAPE_UNITS,
    US_COMPANY,
    US_DOMESTIC,
    VENUE,
    find_shape,
    is_venue,
    shape_possible,
)

# Categories a matched word can belong to (one word may be in several lists).
PHRASE, US, JAPAN, EXCLUDE, SOFT, MASK = "phrase", "us", "japan", "exclude", "soft", "mask"
TOPIC = "topic"  # stored as ("topic", section index)
GENERIC = "~"  # marks a topic concept: it says what kind of story, not which one
OFFICE = "office"  # a Japan-side office word that belongs to another country (露外相)

# A photo caption: "FILE PHOTO: ...", or ending with a credit "(Name/Agency)", "(... Getty Images)".
_CAPTION = re.compile(
    r"^FILE PHOTO|REUTERS/|\((?:[^()]{0,80}/[^()]{0,80}|[^()]{0,80}Getty Images)\)\s*\S{0,3}$"
)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"), "-")
_QUOTES = {ord("\u2019"): "'", ord("\u2018"): "'", ord("\u201c"): '"', ord("\u201d"): '"'}
_TRANSLATE = {**_DASHES, **_QUOTES}
_ODD_PUNCTUATION = re.compile("[" + "".join(map(chr, _TRANSLATE)) + "]")
_WORD_CHAR = "A-Za-z0-9"
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_LEAD_SENTENCES = 3
# A sentence ends at 。！？ or at .!? after a lowercase letter/digit/bracket, so that
# "U.S. and Japan" stays one sentence.
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]\"'][.!?])\s+|[。！？!?]\s*|\n+")
# Japanese words for offices end like this: 外相, 防衛大臣, 官房長官, 政府, 外務省, 官邸.
# A meeting of an office holder (外相会談, 防衛相会合) is that office's too.
_OFFICE_WORD = re.compile("(?:相|大臣|長官|政府|省|庁|総理|国会|官邸)(?:会談|会合|協議)?$")


def normalize(text: str) -> str:
    """NFKC plus one kind of dash and quote: the form both rules and items are matched in."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    if _ODD_PUNCTUATION.search(text):
        text = text.translate(_TRANSLATE)
    return text


@dataclass(frozen=True)
class Term:
    """One entry of a rule list: its concept label and the list it belongs to."""

    label: str
    category: str
    section: int = -1
    specific: bool = True  # False for plain side words (US, Japan): too common to cluster on


class _Form(NamedTuple):
    """A matchable form and its rule entries, sorted once into what scoring asks of them."""

    terms: tuple[Term, ...]
    categories: frozenset[str]
    us: bool
    japan: bool
    others: tuple[str, ...]  # phrase, exclusion ... (not sides, topics or masks)
    labels: tuple[str, ...]  # concepts for clustering
    named: bool  # a person from a people list
    topics: tuple[tuple[str, int], ...]  # (label, section index)
    place: bool  # a place that may be only a venue


def _form(terms: Sequence[Term]) -> _Form:
    cats = frozenset(t.category for t in terms)
    return _Form(
        terms=tuple(terms),
        categories=cats,
        us=US in cats,
        japan=JAPAN in cats,
        others=tuple(c for c in cats if c not in (US, JAPAN, TOPIC, MASK, VENUE)),
        labels=tuple(
            dict.fromkeys(
                GENERIC + t.label if t.category == TOPIC else t.label for t in terms if t.specific
            )
        ),
        named=any(t.specific and t.category in (US, JAPAN) for t in terms),
        topics=tuple((t.label, t.section) for t in terms if t.category == TOPIC),
        place=VENUE in cats,
    )


class Hit(NamedTuple):
    """A word found in a field: where, what was written, and which rule entries it is."""

    field: str
    unit: int  # 0 = title; 1.. = sentence of the summary
    word: str
    form: _Form
    venue: bool = False  # a place written as where, not who ("in Tokyo", 東京で)
    start: int = 0  # where the word starts in the joined title and summary

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.form.terms

    @property
    def categories(self) -> frozenset[str]:
        return self.form.categories


class Evidence(NamedTuple):
    """A scored item plus the concepts it mentions (for clustering across languages)."""

    scored: Scored
    concepts: frozenset[str]


def split_aliases(entry: str) -> list[str]:
    return [part.strip() for part in entry.split("|") if part.strip()]


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex alternative per trie branch: scanning cost barely grows with the term count."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(node[char]) for char in sorted(node) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:  # a longer word is tried first, then the shorter one ending here
            return f"(?:{body})?"
        return body

    return build(trie)


class Matcher:
    """Rules compiled once: finding words, scoring items, explaining text."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.exact: dict[str, list[Term]] = {}  # Japanese and case-sensitive forms
        self.folded: dict[str, list[Term]] = {}  # case-insensitive forms, lowercased
        self.section_names = tuple(s.name for s in rules.sections)
        self.kind_points = dataclasses.asdict(rules.source_points)
        self.kind_rule = {kind: f"{kind} source" for kind in self.kind_points}
        self.fresh_max = rules.weights.fresh_max
        self._source_reasons: dict[tuple[str, str], Reason | bool] = {}
        lists: list[tuple[Iterable[str], str, int, bool]] = [
            (rules.alliance_phrases, PHRASE, -1, False),
            (rules.us_terms, US, -1, False),
            (rules.japan_terms, JAPAN, -1, False),
            (rules.us_people, US, -1, True),
            (rules.japan_people, JAPAN, -1, True),
            (rules.exclusions, EXCLUDE, -1, False),
            (rules.soft_exclusions, SOFT, -1, False),
            (rules.false_friends, MASK, -1, True),
        ]
        lists += [(s.terms, TOPIC, i, False) for i, s in enumerate(rules.sections)]
        if rules.knowledge:
            known = load_knowledge()
            lists += [
                (known.us, US, -1, True),
                (known.japan, JAPAN, -1, True),
                (known.us_companies, US_COMPANY, -1, True),
                (known.japan_companies, JAPAN_COMPANY, -1, True),
            ]
            lists += [(entries, name, -1, False) for name, entries in known.shapes]
        ja: set[str] = set()
        cs: set[str] = set()
        ci: set[str] = set()
        for entries, category, section, exact_case in lists:
            for entry in entries:
                aliases = [normalize(a) for a in split_aliases(entry)]
                if not aliases:
                    continue
                specific = category in (PHRASE, TOPIC) or (category in (US, JAPAN) and exact_case)
                term = Term(aliases[0], category, section, specific)
                for alias in aliases:
                    self._add(alias, term, exact_case, ja, cs, ci)
        self._inherit_contained()
        # Three scans, each a trie: ignoring case in sre is slow, so case-insensitive words
        # are matched in the lowercased text; word boundaries are checked by lookarounds.
        self.exact_forms = {form: _form(terms) for form, terms in self.exact.items()}
        self.folded_forms = {form: _form(terms) for form, terms in self.folded.items()}
        self.ja_pattern = _compile(ja, "", "")
        self.foreign_before = _foreign_pattern(rules.other_countries)
        # Japan-side words that are Japan's only by an unwritten subject: offices (外相,
        # 政府) and words on both sides (対米, "toward the US"). Another country written
        # just before one makes it that country's (露外相, 中国の王毅外相, 中国の対米輸出).
        # Places are left alone: 中国の尖閣侵入 is still about Japan's islands.
        self.offices = {
            form: _form([t for t in f.terms if t.category != JAPAN])
            for form, f in self.exact_forms.items()
            if f.japan and not f.named and "日" not in form and (f.us or _OFFICE_WORD.search(form))
        }
        self.cs_pattern = _compile(cs, "", f"(?![{_WORD_CHAR}])")
        self.ci_pattern = _compile(ci, "(?<![a-z0-9])", "(?![a-z0-9])")

    def _add(
        self, alias: str, term: Term, exact_case: bool, ja: set[str], cs: set[str], ci: set[str]
    ) -> None:
        if not alias.isascii():
            ja.add(alias)
            _append_new(self.exact.setdefault(alias, []), term)
        elif exact_case or not any(c.islower() for c in alias):
            forms = [alias]
            if term.category != MASK and not exact_case:  # F-35s, SOFAs
                forms.append(alias + "s")
            for form in forms:
                cs.add(form)
                _append_new(self.exact.setdefault(form, []), term)
        elif alias[0].isupper() and " " not in alias:  # a proper noun: Quad, Marines, QUAD
            forms = [alias] if term.category == MASK else [alias, _plural(alias)]
            for form in forms + [f.upper() for f in forms]:
                cs.add(form)
                _append_new(self.exact.setdefault(form, []), term)
        else:
            forms = [alias]
            if alias[-1].isalpha() and term.category != MASK:
                forms.append(_plural(alias))
            for form in forms:
                ci.add(form.lower())
                _append_new(self.folded.setdefault(form.lower(), []), term)

    def _inherit_contained(self) -> None:
        """A longer form also counts as the terms written inside it: 米軍 (a topic) is US
        because it contains 米, "U.S. Steel" is US. A form that is itself a side word or a
        phrase keeps its own side: 米政府 is US only, though 政府 alone is Japan."""
        sided = (US, JAPAN, PHRASE)
        for table, fold in ((self.exact, False), (self.folded, True)):
            for form, terms in table.items():
                if any(t.category == MASK for t in terms):
                    continue
                own_sides = {t.category for t in terms if t.category in sided}
                for part in _parts(form):
                    inner = self.exact.get(part, []) + (
                        self.folded.get(part.lower(), []) if part.isascii() else []
                    )
                    if fold and part.upper() in self.exact:
                        inner = inner + self.exact[part.upper()]
                    for t in inner:
                        # Same side: the inner name is a concept to cluster on (小泉防衛相
                        # is Koizumi); another side is not inherited (米政府 is not Japan's).
                        if t.category == MASK or (
                            own_sides and t.category in sided and t.category not in own_sides
                        ):
                            continue
                        if t not in terms:
                            terms.append(t)

    # -- matching --------------------------------------------------------------------------

    def scan(self, text: str) -> list[tuple[int, str, _Form]]:
        """(start, word, form) of every rule word in normalised text, leftmost-longest,
        false friends already taken out."""
        found = self._scan_all(text, masks=False)
        offices = self.offices
        if (
            self.foreign_before is not None
            and not text.isascii()
            and any(word in offices for _, word, _ in found)
        ):
            found = [
                (start, word, self._owner(text, start, word, form)) for start, word, form in found
            ]
        return found

    def _owner(self, text: str, start: int, word: str, form: _Form) -> _Form:
        """The form without its Japan side when the office belongs to another country."""
        unsided = self.offices.get(word)
        if (
            unsided is not None
            and self.foreign_before is not None
            and self.foreign_before.search(text, max(0, start - 24), start)
        ):
            return unsided
        return form

    def _scan_all(self, text: str, *, masks: bool) -> list[tuple[int, str, _Form]]:
        """Every rule word, leftmost-longest; false friends kept only if `masks`."""
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter whose lowercase is longer (İ)
            lowered = text.translate(_ASCII_LOWER)
        scans: list[list[tuple[int, int, str, _Form]]] = []
        hits: list[tuple[int, int, str, _Form]] = []
        folded, exact = self.folded_forms, self.exact_forms
        for m in self.ci_pattern.finditer(lowered):
            start, end = m.span()
            hits.append((start, -end, text[start:end], folded[m.group()]))
        if hits:
            scans.append(hits)
            hits = []
        for m in self.cs_pattern.finditer(text):
            start, end = m.span()
            if not start or text[start - 1] not in _ALNUM:
                hits.append((start, -end, m.group(), exact[m.group()]))
        if hits:
            scans.append(hits)
            hits = []
        if not text.isascii():
            for m in self.ja_pattern.finditer(text):
                start, end = m.span()
                hits.append((start, -end, m.group(), exact[m.group()]))
            if hits:
                scans.append(hits)
        if not scans:
            return []
        # Each scan alone is ordered and without overlaps; only mixed scans need sorting.
        kept = scans[0] if len(scans) == 1 else _leftmost_longest(scans)
        return [
            (start, word, form)
            for start, _, word, form in kept
            if masks or MASK not in form.categories
        ]

    def words_found(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Each list of the rules and the words of `text` it matched, for `digest match`:
        what the rules saw, including words they read as something else (米価 as rice)."""
        text = normalize(text)
        names = {
            PHRASE: "alliance phrase",
            US: "US side",
            JAPAN: "Japan side",
            TOPIC: "topic",
            EXCLUDE: "exclusion",
            SOFT: "soft exclusion",
            MASK: "ignored (false friend)",
            OFFICE: "another country's office",
            US_COMPANY: "US alliance-sector company",
            JAPAN_COMPANY: "Japanese alliance-sector company",
            **{name: f"shape word ({name})" for name in SHAPE_LISTS},
        }
        found: dict[str, dict[str, None]] = {name: {} for name in names.values()}
        for start, word, form in self._scan_all(text, masks=True):
            if MASK in form.categories:
                found[names[MASK]][word] = None
                continue
            form = self._owner(text, start, word, form) if self.foreign_before else form
            for category in form.categories:
                found[names[category]][word] = None
            if word in self.offices and not form.japan:
                found[names[OFFICE]][word] = None
        return [(name, tuple(words)) for name, words in found.items() if words]

    def find(self, title: str, summary: str = "") -> list[Hit]:
        """Rule words of an item: title hits are unit 0, summary hits carry their sentence
        number (1, 2 ...). Both fields are scanned as one text, which is faster."""
        cut, text = _joined(title, summary)
        return self._hits(cut, text, self.scan(text))

    def _hits(self, cut: int, text: str, found: list[tuple[int, str, _Form]]) -> list[Hit]:
        if not found:
            return []
        if found[-1][0] < cut:
            return [Hit("title", 0, word, f, False, pos) for pos, word, f in found]
        starts = [e.end() for e in _SENTENCE_END.finditer(text, cut + 1)]
        return [
            Hit(
                "title" if pos < cut else "summary",
                0 if pos < cut else 1 + bisect_right(starts, pos),
                word,
                f,
                False,
                pos,
            )
            for pos, word, f in found
        ]

    # -- scoring ---------------------------------------------------------------------------

    def evidence(
        self, item: Item, *, now: datetime | None = None, hits: list[Hit] | None = None
    ) -> Evidence:
        """Score one item; `now` adds freshness (None: no freshness, e.g. for `explain`)."""
        text = ""
        if hits is None:
            cut, text = _joined(item.title, item.summary)
            found = self.scan(text)
            if self.rules.min_score > 0 and not _has_signal(_found_categories(found)):
                found = []  # most items: nothing that could be evidence
            hits = self._hits(cut, text, found)
        if hits and (self.rules.min_score <= 0 or _has_signal(_categories(hits))):
            if any(h.form.place for h in hits):  # only now: most items never get here
                text = text or _joined(item.title, item.summary)[1]
                hits = [
                    h._replace(venue=is_venue(text, h.start, h.word)) if h.form.place else h
                    for h in hits
                ]
            tally = _Tally(self, hits)
            reasons = tally.content_reasons()
            section, concepts = tally.section(), frozenset(tally.concepts)
        else:  # most items: nothing that could be evidence, nothing to tally
            reasons, section, concepts = [], self.rules.default_section or None, frozenset()
        evidence = sum(r.points for r in reasons)
        relevant = evidence >= self.rules.min_score
        reasons += self._ranking_reasons(item, now)
        score = round(sum(r.points for r in reasons), 2)
        return Evidence(Scored(item, score, tuple(reasons), section, relevant), concepts)

    def score(self, item: Item, *, now: datetime | None = None) -> Scored:
        return self.evidence(item, now=now).scored

    def relevant_evidence(self, item: Item, *, now: datetime | None = None) -> Evidence | None:
        """The item's evidence if it is relevant, else None; cheap for the many items with
        no alliance phrase and no US-Japan pair anywhere (nothing more is built for them)."""
        evidence = self.graded_evidence(item, now=now)
        return evidence if evidence is not None and evidence.scored.relevant else None

    def graded_evidence(self, item: Item, *, now: datetime | None = None) -> Evidence | None:
        """The item's evidence, relevant or not, if it has any alliance signal at all (a
        phrase, both sides, or the makings of a shape); None for the many items without."""
        cut, text = _joined(item.title, item.summary)
        found = self.scan(text)
        if self.rules.min_score > 0 and not _has_signal(_found_categories(found)):
            return None
        return self.evidence(item, now=now, hits=self._hits(cut, text, found))

    def _ranking_reasons(self, item: Item, now: datetime | None) -> list[Reason]:
        reasons = []
        source = self._source_reasons.get((item.kind, item.feed))
        if source is None:  # one Reason per feed, reused: most items share a few feeds
            points = self.kind_points.get(item.kind, 0.0)
            source = (
                Reason(self.kind_rule[item.kind], "feed", (item.feed,), points) if points else False
            )
            self._source_reasons[(item.kind, item.feed)] = source
        if isinstance(source, Reason):
            reasons.append(source)
        if now is not None and item.dated:
            age_days = max(0.0, (now.timestamp() - item.published.timestamp()) / 86400)
            fresh = self.fresh_max * (1 - age_days / self.rules.fresh_days)
            if fresh >= 0.05:
                reasons.append(
                    Reason("freshness", "published", (f"{age_days:.1f} days old",), round(fresh, 2))
                )
        return reasons

    def suggest_section(self, hits: list[Hit]) -> str | None:
        return _Tally(self, hits).section()


class _Tally:
    """One pass over an item's hits, sorted into what each rule needs."""

    def __init__(self, matcher: Matcher, hits: list[Hit]) -> None:
        self.matcher = matcher
        self.words: dict[tuple[str, str], dict[str, None]] = {}  # (category, field) -> words
        self.sides: dict[int, tuple[dict[str, None], dict[str, None]]] = {}  # unit -> us, japan
        self.topics: dict[str, tuple[str, float]] = {}  # concept -> (word, points)
        self.section_weight = [0.0] * len(matcher.section_names)
        self.concepts: set[str] = set()
        self.named: dict[int, dict[str, None]] = {}  # unit -> people named there
        # Places written as venues, kept apart until we know whether the item is about a
        # multilateral meeting or US-domestic politics (then they are not actors).
        self.venue_sides: dict[int, tuple[dict[str, None], dict[str, None]]] = {}
        self.lead: dict[str, dict[str, None]] = {}  # category -> words of title and lead
        self.title_topic = False
        topic_points = matcher.rules.weights.topic
        for h in hits:
            f, word, unit = h.form, h.word, h.unit
            if unit <= SHAPE_UNITS:
                for category in f.categories:
                    self.lead.setdefault(category, {})[word] = None
            if f.us or f.japan:
                table = self.venue_sides if h.venue else self.sides
                us, japan = table.setdefault(unit, ({}, {}))
                if f.us:
                    us[word] = None
                if f.japan:
                    japan[word] = None
                if f.named:
                    self.named.setdefault(unit, {})[word] = None
            for category in f.others:
                self.words.setdefault((category, h.field), {})[word] = None
            if f.labels:
                self.concepts.update(f.labels)
            for label, section in f.topics:
                self.title_topic = self.title_topic or not unit
                self.section_weight[section] += 1.0 if unit else 2.0
                if label not in self.topics:
                    self.topics[label] = (word, topic_points * (1.0 if unit else 1.5))

    def venue_context(self) -> bool:
        """A multilateral meeting or US-domestic politics: a host place is only a venue."""
        return MULTILATERAL in self.lead or US_DOMESTIC in self.lead

    def settle_venues(self) -> list[Reason]:
        """Venues count as sides unless the item is about others meeting there."""
        if not self.venue_sides:
            return []
        if not self.venue_context():
            for unit, (us, japan) in self.venue_sides.items():
                mine_us, mine_japan = self.sides.setdefault(unit, ({}, {}))
                mine_us.update(us)
                mine_japan.update(japan)
            return []
        words = tuple(dict.fromkeys(w for us, ja in self.venue_sides.values() for w in (*us, *ja)))
        return [Reason("venue, not actor", "title+summary", words, 0.0)]

    def shape_reasons(self) -> list[Reason]:
        """The scope's shapes that need no US-Japan pair (first match only), each named."""
        if (NOT_SHAPE, "title") in self.words:  # the title decides what the item is about
            return []
        lead_sides = [sides for unit, sides in self.sides.items() if unit <= SHAPE_UNITS]
        japan = {w: None for _, ja in lead_sides for w in ja}
        us = {w: None for u, _ in lead_sides for w in u}
        found = find_shape(self.lead, japan, us, china_in_title=(CHINA, "title") in self.words)
        if found is None:
            return []
        name, words = found
        return [Reason(name, "title+lead", words, self.matcher.rules.weights.shape)]

    def content_reasons(self) -> list[Reason]:
        w = self.matcher.rules.weights
        reasons: list[Reason] = []
        venue_reasons = self.settle_venues()
        for field, points in (("title", w.phrase_title), ("summary", w.phrase_summary)):
            if words := self.words.get((PHRASE, field)):
                reasons.append(Reason("alliance phrase", field, tuple(words), points))
        pairs = self.pair_reasons()
        shapes = self.shape_reasons() if not (reasons and pairs) else []
        if pairs and not reasons and not shapes and self.coincidental():
            # "U.S. book finds Japanese publisher": only nationality words, and the title
            # names no alliance topic. One pair counts, and topics do not lift it.
            reasons.append(dataclasses.replace(pairs[0], rule="US + Japan only as nationalities"))
            return reasons + self.exclusion_reasons() + venue_reasons
        reasons += pairs
        if not pairs:
            reasons += shapes
        reasons += venue_reasons
        if reasons and self.topics:  # topics only rank items with US-Japan evidence
            points = min(w.topic_max, sum(p for _, p in self.topics.values()))
            topic_words = tuple(dict.fromkeys(word for word, _ in self.topics.values()))
            reasons.append(Reason("topic", "title+summary", topic_words, round(points, 2)))
        return reasons + self.exclusion_reasons()

    def exclusion_reasons(self) -> list[Reason]:
        w = self.matcher.rules.weights
        reasons = []
        for category, rule, points in (
            (EXCLUDE, "exclusion", w.exclusion),
            (SOFT, "soft exclusion", w.soft_exclusion),
        ):
            for field in ("title", "summary"):
                if words := self.words.get((category, field)):
                    reasons.append(Reason(rule, field, tuple(words), points * len(words)))
        return reasons

    def coincidental(self) -> bool:
        """Both sides only as nationality words ("U.S. book", "Japanese publisher"), no
        one named, and no alliance topic in the title. Capitals stand for governments
        ("Washington presses Tokyo"), so they are not nationality words."""
        if self.named or self.title_topic:
            return False
        words = {w for us, japan in self.sides.values() for w in (*us, *japan)}
        return words <= NATIONALITY

    def pair_reasons(self) -> list[Reason]:
        w = self.matcher.rules.weights
        reasons = []
        title_us, title_japan = self.sides.get(0, ({}, {}))
        named: dict[str, None] = {}
        if title_us and title_japan:
            reasons.append(
                Reason(
                    "US + Japan together",
                    "title",
                    tuple(dict.fromkeys((*title_us, *title_japan))),
                    w.pair_title,
                )
            )
            named.update(self.named.get(0, {}))
        for unit in sorted(self.sides):
            us, japan = self.sides[unit]
            if unit and us and japan:
                reasons.append(
                    Reason(
                        "US + Japan in one sentence",
                        "summary",
                        tuple(dict.fromkeys((*us, *japan))),
                        w.pair_sentence,
                    )
                )
                named.update(self.named.get(unit, {}))
                break
        if named:  # leaders and ministers by name say more than "US" and "Japan"
            reasons.append(Reason("people named", "title+summary", tuple(named), w.named))
        if not reasons:
            # Far apart counts only in the title and the lead: deep in a long text, the two
            # sides are usually about different things.
            lead = [sides for unit, sides in self.sides.items() if unit <= _LEAD_SENTENCES]
            all_us = {word: None for us, _ in lead for word in us}
            all_japan = {word: None for _, japan in lead for word in japan}
            if all_us and all_japan:
                reasons.append(
                    Reason(
                        "US and Japan apart",
                        "title+summary",
                        tuple(dict.fromkeys((*all_us, *all_japan))),
                        w.pair_apart,
                    )
                )
        return reasons

    def section(self) -> str | None:
        """The section whose topic terms weigh most (title counts double); else the default."""
        weight = self.section_weight
        if weight and max(weight) > 0:
            return self.matcher.section_names[weight.index(max(weight))]
        return self.matcher.rules.default_section or None


def _found_categories(found: list[tuple[int, str, _Form]]) -> frozenset[str]:
    return frozenset().union(*(form.categories for _, _, form in found))


def _categories(hits: list[Hit]) -> frozenset[str]:
    return frozenset().union(*(h.form.categories for h in hits))


def _has_signal(categories: frozenset[str]) -> bool:
    """Could these words make an item relevant: a phrase, both sides, or a shape's makings."""
    if PHRASE in categories or (US in categories and JAPAN in categories):
        return True
    return shape_possible(categories, japan=JAPAN in categories)


def _parts(form: str) -> list[str]:
    """Shorter forms that may sit inside `form`: substrings in Japanese, word runs in English."""
    if not form.isascii():
        return [
            form[i:j]
            for i in range(len(form))
            for j in range(i + 1, len(form) + 1)
            if (i, j) != (0, len(form))
        ]
    words = form.split()
    return [
        " ".join(words[i:j])
        for i in range(len(words))
        for j in range(i + 1, len(words) + 1)
        if (i, j) != (0, len(words))
    ]


def _joined(title: str, summary: str) -> tuple[int, str]:
    """Title and summary normalised and joined by a newline, and where the title ends.
    A summary that is a photo caption (some feeds give one) says nothing about the story."""
    if summary and _CAPTION.search(summary):
        summary = ""
    title = normalize(title)
    return len(title), f"{title}\n{normalize(summary)}" if summary else title


def _plural(word: str) -> str:
    """The regular English plural: missile -> missiles, tariff -> tariffs, ally -> allies."""
    lower = word.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _append_new(terms: list[Term], term: Term) -> None:
    """Add once: a plural written out in the rules (Ospreys) is also generated."""
    if term not in terms:
        terms.append(term)


def _foreign_pattern(countries: Iterable[str]) -> re.Pattern[str] | None:
    """Another country just before an office word: 露外相, 米韓外相, 中国の王毅外相. A one-letter
    short form (露, 韓) counts only right before it: 中 and 英 are in many other words."""
    names = [normalize(a) for entry in countries for a in split_aliases(entry)]
    if not names:
        return None
    long_names = sorted((n for n in names if len(n) > 1), key=len, reverse=True)
    every = sorted(names, key=len, reverse=True)
    name_run = "[\u30a0-\u30ff\u3400-\u9fff]{0,10}"  # a name in kanji or katakana
    alternatives = [f"(?:{'|'.join(map(re.escape, every))})$"]
    if long_names:
        alternatives.append(f"(?:{'|'.join(map(re.escape, long_names))})の{name_run}$")
    return re.compile("|".join(alternatives))


def _compile(words: set[str], before: str, after: str) -> re.Pattern[str]:
    if not words:
        return re.compile(r"(?!x)x")
    return re.compile(f"{before}(?:{_trie_pattern(words)}){after}")


@functools.lru_cache(maxsize=8)
def compile_rules(rules: Rules) -> Matcher:
    """Compile once per rule set (Rules is frozen, so it can key the cache)."""
    return Matcher(rules)


# -- the contract -------------------------------------------------------------------------


def score_item(item: Item, rules: Rules, *, now: datetime) -> Scored:
    return compile_rules(rules).score(item, now=now)


def explain(text: str, rules: Rules, *, now: datetime) -> Scored:
    """Score a headline or paragraph typed by the editor (`digest match`).

    The first line (or sentence, for a one-line paragraph) is read as the title.
    """
    text = text.strip()
    title, _, summary = text.partition("\n")
    if not summary:
        first = _SENTENCE_END.search(title)
        if first and first.end() < len(title):
            title, summary = title[: first.end()].strip(), title[first.end() :].strip()
    item = Item(
        id="match",
        feed="digest match",
        url="",
        title=title,
        summary=summary,
        published=now,
        lang=detect_lang(text),
        kind="other",
    )
    return compile_rules(rules).score(item, now=None)


def _span(found: tuple[int, int, str, object]) -> tuple[int, int]:
    return found[0], found[1]


def _leftmost_longest(
    scans: list[list[tuple[int, int, str, _Form]]],
) -> list[tuple[int, int, str, _Form]]:
    found = sorted((hit for scan in scans for hit in scan), key=_span)
    kept: list[tuple[int, int, str, _Form]] = []
    covered = 0
    for hit in found:
        start, neg_end, word, form = hit
        if kept and kept[-1][:2] == (start, neg_end):
            # The same word in two scans ("Akazawa" a person and a topic): both count.
            previous = kept[-1][3]
            kept[-1] = (start, neg_end, word, _form(previous.terms + form.terms))
        elif start >= covered:
            kept.append(hit)
            covered = -neg_end
    return kept
