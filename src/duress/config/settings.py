"""Server settings: read once from the site's ``server:`` section, overridden by ``DURESS_*``.

Precedence, highest first: the environment (``DURESS_PORT=8080``), the ``server:`` section of the
site YAML, the defaults below. Nothing here reads ``os.environ`` by itself: callers pass the
environment mapping (``load_settings(path, os.environ)``), so tests pass a plain dict.

Every setting is listed in :data:`SETTINGS_REFERENCE`, which ``docs/configuration.md`` must cover
(a test checks it). A bad value raises :class:`~duress.domain.errors.ConfigError` naming where it
came from (the file and line, or the environment variable), the value and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from duress import _native
from duress.config.reader import Reader, show, suggest
from duress.config.source import Node, SourceError, read_source
from duress.domain.errors import ConfigError

ENV_PREFIX = "DURESS_"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("console", "json")
STORE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
MQTT_SCHEMES = ("mqtt", "mqtts")
LOCATION_ENGINES = ("process", "inline")
LOCATION_PRIORITIES = ("idle", "low")
COOKIE_SECURE = ("auto", "always", "never")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the server needs to start. Frozen; build it with :func:`load_settings`."""

    site: Path = Path("site.yaml")
    store_url: str = "sqlite:///var/duress.db"
    spool_path: Path = Path("var/duress-spool.jsonl")
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_topic_prefix: str = "duress"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    log_level: str = "info"
    log_format: str = "console"
    session_idle_timeout_s: int = 1800
    session_max_age_s: int = 43200
    cookie_secure: str = "auto"
    login_max_failures: int = 5
    login_lockout_s: int = 900
    location_visible_after_s: int = 900
    location_engine: str = "process"
    location_priority: str = "idle"


_DEFAULTS = Settings()


class _InvalidError(ValueError):
    """A setting value is bad: ``reason`` says why and how to fix it."""


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _InvalidError("is not text; write a string")
    text = str(value).strip()
    if not text:
        raise _InvalidError("is empty; write a value or leave the setting out for its default")
    return text


def _store_url(value: object) -> str:
    url = _text(value)
    scheme = url.split(":", 1)[0] if ":" in url else ""
    if scheme not in STORE_SCHEMES or "://" not in url:
        raise _InvalidError(
            "is not a store URL; write sqlite:///relative/path.db, sqlite:////absolute/path.db "
            "or postgresql://user@host:5432/dbname"
        )
    if scheme == "sqlite" and url in ("sqlite://", "sqlite:///"):
        raise _InvalidError("names no database file; write e.g. sqlite:///var/duress.db")
    return url


def _mqtt_url(value: object) -> str:
    url = _text(value)
    parts = urlsplit(url)
    if parts.scheme not in MQTT_SCHEMES or not parts.hostname:
        raise _InvalidError(
            "is not an MQTT broker URL; write mqtt://host:1883 (or mqtts://host:8883 for TLS)"
        )
    try:
        parts.port  # noqa: B018  # urlsplit validates the port lazily
    except ValueError:
        raise _InvalidError("has a bad port; write mqtt://host:1883") from None
    return url


def _topic_prefix(value: object) -> str:
    text = _text(value)
    if any(c in text for c in "#+ ") or text.startswith("/") or text.endswith("/"):
        raise _InvalidError(
            "is not a usable MQTT topic prefix; use letters and '/', no wildcards, e.g. duress"
        )
    return text


def _host(value: object) -> str:
    text = _text(value)
    if any(c.isspace() for c in text) or "/" in text:
        raise _InvalidError("is not a host name or address; write e.g. 127.0.0.1 or 0.0.0.0")
    return text


def _port(value: object) -> int:
    if isinstance(value, bool):
        raise _InvalidError("is not a port number; write a whole number from 1 to 65535")
    try:
        port = int(str(value).strip()) if isinstance(value, str | int) else int("x")
    except ValueError:
        raise _InvalidError("is not a port number; write a whole number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise _InvalidError("is out of range; write a port from 1 to 65535")
    return port


def _public_url(value: object) -> str | None:
    if value is None:
        return None
    url = _text(value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _InvalidError(
            "is not an http(s) URL; write the address staff reach the dashboard at, "
            "e.g. https://duress.example.org"
        )
    return url.rstrip("/")


def _seconds(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _InvalidError("is not a whole number of seconds; write e.g. 900")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _InvalidError("is not a whole number of seconds; write e.g. 900") from None
    if number < 0:
        raise _InvalidError("is negative; write 0 or more seconds")
    return number


def _positive_seconds(value: object) -> int:
    number = _seconds(value)
    if number < 1:
        raise _InvalidError("must be at least 1 second")
    return number


def _count(value: object) -> int:
    try:
        number = _seconds(value)
    except _InvalidError:
        raise _InvalidError("is not a whole number; write e.g. 5") from None
    if number < 1:
        raise _InvalidError("must be at least 1")
    return number


def _choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise _InvalidError(
                f"is not one of {', '.join(choices)}{suggest(text, choices)}; use one of those"
            )
        return text

    return parse


def _path(value: object) -> Path:
    return Path(_text(value))


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """One setting: its key (in ``server:``), environment variable, default and meaning."""

    key: str
    default: object
    description: str
    parse: Callable[[object], object]
    in_yaml: bool = True

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper()


SETTINGS_REFERENCE: tuple[SettingInfo, ...] = (
    SettingInfo(
        "site",
        _DEFAULTS.site,
        "Path of the site configuration (a YAML file or a folder of them); given on the command "
        "line or by DURESS_SITE, never in the server section itself.",
        _path,
        in_yaml=False,
    ),
    SettingInfo(
        "store_url",
        _DEFAULTS.store_url,
        "Event store: sqlite:///relative.db (relative to the working directory), sqlite:////abs.db "
        "or postgresql://user@host/db.",
        _store_url,
    ),
    SettingInfo(
        "spool_path",
        _DEFAULTS.spool_path,
        "Local file where presses and alert steps are kept durably while the event store is down; "
        "written to the store when it is back.",
        _path,
    ),
    SettingInfo("mqtt_url", _DEFAULTS.mqtt_url, "MQTT broker the gateways publish to.", _mqtt_url),
    SettingInfo(
        "mqtt_topic_prefix",
        _DEFAULTS.mqtt_topic_prefix,
        "Topic prefix of Duress' own MQTT topics (native gateway messages).",
        _topic_prefix,
    ),
    SettingInfo(
        "host", _DEFAULTS.host, "Address the HTTP server (API and dashboard) listens on.", _host
    ),
    SettingInfo("port", _DEFAULTS.port, "TCP port of the HTTP server.", _port),
    SettingInfo(
        "public_url",
        _DEFAULTS.public_url,
        "Address staff and integrations reach the dashboard at, used in links sent out; "
        "none by default.",
        _public_url,
    ),
    SettingInfo(
        "log_level",
        _DEFAULTS.log_level,
        "Least severe log level written: debug, info, warning, error.",
        _choice(LOG_LEVELS),
    ),
    SettingInfo(
        "log_format",
        _DEFAULTS.log_format,
        "Log output: console (human) or json (one object a line).",
        _choice(LOG_FORMATS),
    ),
    SettingInfo(
        "session_idle_timeout_s",
        _DEFAULTS.session_idle_timeout_s,
        "A browser session ends after this many seconds without a request (the live board keeps "
        "its session alive while it is open).",
        _positive_seconds,
    ),
    SettingInfo(
        "session_max_age_s",
        _DEFAULTS.session_max_age_s,
        "A browser session ends this many seconds after sign-in, however active (a shift).",
        _positive_seconds,
    ),
    SettingInfo(
        "cookie_secure",
        _DEFAULTS.cookie_secure,
        "Mark session cookies Secure (sent over https only): auto (when the request or "
        "public_url is https), always, never.",
        _choice(COOKIE_SECURE),
    ),
    SettingInfo(
        "login_max_failures",
        _DEFAULTS.login_max_failures,
        "Failed sign-ins for one user within login_lockout_s that lock the user for "
        "login_lockout_s (a client address gets four times as many).",
        _count,
    ),
    SettingInfo(
        "login_lockout_s",
        _DEFAULTS.login_lockout_s,
        "The window failed sign-ins are counted in, and how long a lockout lasts, in seconds.",
        _positive_seconds,
    ),
    SettingInfo(
        "location_visible_after_s",
        _DEFAULTS.location_visible_after_s,
        "Privacy: how long after an alert closes the location of the people in it stays "
        "visible to non-admin roles, in seconds.",
        _seconds,
    ),
    SettingInfo(
        "location_engine",
        _DEFAULTS.location_engine,
        "Where the location engine runs: process (its own process, so that sightings never "
        "share the interpreter or the CPU with presses; the default) or inline (in the server's "
        "event loop: one process, for small sites and debugging).",
        _choice(LOCATION_ENGINES),
    ),
    SettingInfo(
        "location_priority",
        _DEFAULTS.location_priority,
        "The location process's CPU priority: idle (the default: it runs only on CPU time that "
        "the server, and so presses, do not want; Linux SCHED_IDLE) or low (nice +10: it keeps a "
        "small share however busy the machine is).",
        _choice(LOCATION_PRIORITIES),
    ),
)

_BY_KEY = {s.key: s for s in SETTINGS_REFERENCE}
SERVER_KEYS = tuple(s.key for s in SETTINGS_REFERENCE if s.in_yaml)


def build_settings(
    values: Mapping[str, object],
    env: Mapping[str, str],
    *,
    origins: Mapping[str, str] | None = None,
    site: Path | None = None,
) -> Settings:
    """Settings from ``values`` (the ``server:`` section as plain data), overridden by ``env``.

    ``origins`` names where each value came from (``site.yaml:40: server.port``) for error messages.
    ``site`` is the site path given on the command line; else ``DURESS_SITE`` decides.
    Unknown ``DURESS_*`` variables are not errors here (other tools share the prefix); the server
    should log :func:`unknown_env` at start.
    """
    origins = origins or {}
    problems: list[str] = []
    out: dict[str, object] = {}
    for key in values:
        if key not in SERVER_KEYS:
            where = origins.get(key, f"server.{key}")
            problems.append(
                f"{where}: unknown setting {key!r}{suggest(key, SERVER_KEYS)}; "
                f"the settings are: {', '.join(SERVER_KEYS)}"
            )
    for info in SETTINGS_REFERENCE:
        raw: object
        if info.key == "site" and site is not None:
            out["site"] = site
            continue
        if info.env in env:
            raw, where = env[info.env], info.env
        elif info.in_yaml and info.key in values:
            raw, where = values[info.key], origins.get(info.key, f"server.{info.key}")
        else:
            continue
        try:
            out[info.key] = info.parse(raw)
        except _InvalidError as exc:
            problems.append(f"{where}: {raw!r} {exc}")
    if problems:
        raise ConfigError(problems)
    return Settings(**out)  # type: ignore[arg-type]  # each value was produced by its own parser


def unknown_env(env: Mapping[str, str]) -> list[str]:
    """Warnings for ``DURESS_*`` variables that name no setting (a likely typo)."""
    known = {s.env for s in SETTINGS_REFERENCE}
    others = {"DURESS_REQUIRE_SERVICES", _native.PURE_ENV}
    return [
        f"{name}: not a Duress setting{suggest(name, known)}; it is ignored"
        for name in sorted(env)
        if name.startswith(ENV_PREFIX)
        and name not in known
        and name not in others
        and not name.startswith("DURESS_TEST")
    ]


def check_server_section(node: Node, reader: Reader) -> dict[str, object]:
    """Validate a positioned ``server:`` section into plain values; problems go to ``reader``."""
    m = reader.mapping(node, "server", SERVER_KEYS)
    out: dict[str, object] = {}
    for key, child in (m or {}).items():
        value = child.value if child.is_scalar else child.plain()
        try:
            out[key] = _BY_KEY[key].parse(value)
        except _InvalidError as exc:
            reader.fail(child, f"server.{key}", f"{show(child)} {exc}")
    return out


def load_settings(site: Path | None, env: Mapping[str, str]) -> Settings:
    """Settings for the site at ``site`` (or ``DURESS_SITE``, else ``./site.yaml``) and ``env``.

    Reads only the ``server:`` section of the site YAML; the site itself is loaded by
    :func:`duress.config.loader.load_site`. A missing site file is not an error here: the
    defaults and the environment then decide.
    """
    path = site if site is not None else Path(env.get(ENV_PREFIX + "SITE", str(_DEFAULTS.site)))
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    if path.exists():
        try:
            root = read_source(path)
        except SourceError as exc:
            raise ConfigError(exc.problems) from None
        server = root.get("server")
        if server is not None:
            if not server.is_mapping:
                raise ConfigError(
                    [
                        f"{server.file}:{server.line}: server: {show(server)} is not a mapping; "
                        "write `key: value` lines"
                    ]
                )
            for key, child in server.items():
                if key.startswith("\x00"):
                    continue
                values[key] = child.value if child.is_scalar else child.plain()
                origins[key] = f"{child.file}:{server.key_lines.get(key, child.line)}: server.{key}"
    return build_settings(values, env, origins=origins, site=path)
