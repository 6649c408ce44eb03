"""The Oscar target's database from a URL: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def database(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME.

    SQLite runs in WAL mode with IMMEDIATE transactions and a 20 s busy timeout, as Django advises for
    concurrent writers. Connections persist (CONN_MAX_AGE), as in production: closing SQLite's last
    connection after each request checkpoints its WAL, seconds of a worker's time outside any request.
    ValueError for any other scheme.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "CONN_MAX_AGE": 600,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
        }
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
        }
    raise ValueError(f"--db {url!r}: use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME")
