"""Where the repository and the shared material beside it are, for tests that read them."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
