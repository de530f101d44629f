"""Store URLs: which forms are accepted, and how they are shown with any password masked."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from duress.domain.errors import ConfigError

ACCEPTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, "
    "postgresql://user@host:port/database (or postgres://...), "
    "and for tests only sqlite://:memory: and memory://"
)
MEMORY_SQLITE = "sqlite://:memory:"

_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def mask(url: str) -> str:
    """``url`` with any password (user part or ``password=`` parameter) replaced by ``***``."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, "***" if k in _SECRET_PARAMS else v) for k, v in pairs], safe="*"
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # nothing secret: keep the URL exactly as written
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def sqlite_path(url: str) -> Path | None:
    """The database file a ``sqlite:`` URL names, or None for ``sqlite://:memory:``."""
    if url == MEMORY_SQLITE:
        return None
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "#" in url:
        raise ConfigError(
            [_bad(url, "a SQLite URL is sqlite:///relative/path.db or sqlite:////abs/path.db")]
        )
    path = url[len(prefix) :]
    if not path or path.endswith("/"):
        raise ConfigError([_bad(url, "the URL names no database file")])
    if path == ":memory:":
        raise ConfigError([_bad(url, f"an in-memory SQLite database is written {MEMORY_SQLITE}")])
    return Path(path)


def unknown(url: str) -> ConfigError:
    return ConfigError([_bad(url, f"unknown kind of store; accepted forms: {ACCEPTED}")])


def _bad(url: str, fix: str) -> str:
    return f"store URL {mask(url)!r}: {fix}"
