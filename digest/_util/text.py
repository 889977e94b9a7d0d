"""Text rules every stage shares: Japanese character classes, the language of a text,
the characters that must never reach an output, and the normal form text is matched in.

No business logic: these are the one definition of each rule, so an item stored as
Japanese is also clustered, rendered and archived as Japanese.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Lang = Literal["en", "ja"]

# Hiragana, katakana (with phonetic extensions) and half-width katakana.
KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
# CJK ideographs (extension A, the unified block, compatibility ideographs).
HAN = "\u3400-\u9fff\uf900-\ufaff"
# Everything set as a full-width character: radicals, punctuation, kana, ideographs and
# the full-width forms. Each is one unit for line breaking and word counting.
WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"

JAPANESE_CHAR = re.compile(f"[{KANA}{HAN}]")
_LETTER = re.compile(r"[^\W\d_]")
_LANG_SAMPLE = 200
_JAPANESE_SHARE = 0.3

# Never printed, stored as display text or written into XML: C0 and C1 controls (tab and
# line feed excepted), bidirectional embeddings, overrides and isolates that reorder text,
# line and paragraph separators that YAML and some readers take as line breaks, the
# byte-order mark, non-characters and lone surrogates. ZWJ/ZWNJ and variation selectors
# stay: emoji and scripts need them.
UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\u206a-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)


def detect_lang(text: str, default: Lang = "en") -> Lang:
    """'ja' when Japanese characters are at least 30% of the letters that open `text`.

    A kanji headline in an English feed is Japanese; a Latin headline in a Japanese feed is
    English. Text without letters takes `default` (the feed's or the document's language).
    """
    sample = text[:_LANG_SAMPLE]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return default
    return "ja" if len(JAPANESE_CHAR.findall(sample)) >= _JAPANESE_SHARE * letters else "en"


def clean_text(text: str | None) -> str:
    """NFC, with every unsafe character replaced by a space."""
    return UNSAFE_CHARS.sub(" ", unicodedata.normalize("NFC", text or ""))


def one_line(text: str | None) -> str:
    """Clean text with its whitespace folded to single spaces."""
    return " ".join(clean_text(text).split())


def console_safe(text: str | None) -> str:
    """Text from outside (a feed, a server) made safe to print on a terminal: one line,
    control and reordering characters written as escapes (\\x1b, \\u202e), never acted on.

    Rich markup is a separate matter: print such text as rich `Text`, or through click.
    """
    return _CONSOLE_UNSAFE.sub(_escape_char, text or "")


_CONSOLE_UNSAFE = re.compile(f"[\t\n\r]|{UNSAFE_CHARS.pattern}")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in "\t\n\r":
        return " "
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
