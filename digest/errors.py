"""The exceptions of Alliance Digest.

Every error a user can cause or meet is a DigestError. It carries where it happened
(`path`, `line`, `column`, `url`) and knows its exit status, so the CLI can print one
clear line and exit without a traceback::

    DigestError                 exit 1 unless said otherwise
     +-- ConfigError            exit 2: feeds.yaml is wrong (file:line: key: what to do)
     +-- UsageError             exit 2: bad command-line arguments
     +-- FeedError              one feed failed; reported, never fatal to a run
     |    +-- FetchError
     |    +-- ParseError
     +-- StoreError             the SQLite store is unreadable or locked
     +-- DraftError             a draft does not parse or cannot be written
     |    +-- DraftInvalid      exit 2: what the editor wrote breaks the draft's schema
     |    +-- DraftConflict     the draft changed on disk while we worked
     |    +-- LockBusy          another run holds the lock
     +-- RenderError
     +-- PublishError
     +-- SendError
"""

from __future__ import annotations

from pathlib import Path


class DigestError(Exception):
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.url = url

    def location(self) -> str:
        if self.path is None:
            return self.url or ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class ConfigError(DigestError):
    exit_code = 2


class UsageError(DigestError):
    exit_code = 2


class FeedError(DigestError):
    pass


class FetchError(FeedError):
    pass


class ParseError(FeedError):
    pass


class StoreError(DigestError):
    pass


class DraftError(DigestError):
    pass


class DraftInvalid(DraftError):
    """The draft holds something the program cannot use; the file is left as it is."""

    exit_code = 2


class DraftConflict(DraftError):
    pass


class LockBusy(DraftError):
    pass


class RenderError(DigestError):
    pass


class PublishError(DigestError):
    pass


class SendError(DigestError):
    pass
