"""Outbound HTTP for the channels (webhook, SMS, WCTP, CAP): one keep-alive connection pool on aiohttp.

:class:`HttpClient` sends one request and returns an :class:`HttpAnswer` with the whole body read, so
the connection goes straight back to the pool for the next page. Failures are two exceptions, each
naming the method, the URL and the cause::

    HttpError            base
    ├── HttpTimeout      no complete answer within ``timeout_s`` (connecting, sending and reading)
    └── HttpUnreachable  no answer at all: refused, reset, DNS, TLS, a broken or truncated response

An HTTP error status is not an exception: it is an answer, and the channel decides what it means.

The pool (an ``aiohttp.ClientSession``) is created on the first request, inside the running event loop,
and closed by :meth:`HttpClient.aclose`. Connections are kept alive for ``keepalive_s`` while idle; at
most ``limit_per_host`` are open to one host (a tier paging many people through one gateway is sent in
parallel), ``limit`` in all. Host names are resolved by the system resolver for each new connection
(no cache of our own, so a DNS change is seen at the next connection); redirects are not followed
(a 3xx is the answer); proxies come from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` /
``NO_PROXY`` as they did with httpx, read once per pool (aiohttp's ``trust_env`` would read them and
``~/.netrc`` in a worker thread on every request); TLS is verified against the system's trust store.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies_environment, proxy_bypass

import aiohttp

DEFAULT_LIMIT = 100
DEFAULT_LIMIT_PER_HOST = 50
DEFAULT_KEEPALIVE_S = 15.0


class HttpError(Exception):
    """A request got no usable answer. ``method``, ``url`` and ``cause`` say which and why."""

    def __init__(self, method: str, url: str, cause: str) -> None:
        self.method = method
        self.url = url
        self.cause = cause
        super().__init__(f"{method} {url}: {cause}")


class HttpTimeout(HttpError):
    """No complete answer within ``timeout_s``."""

    def __init__(self, method: str, url: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(method, url, f"no answer within {timeout_s:g} s")


class HttpUnreachable(HttpError):
    """The far end could not be reached or broke off; ``cause`` is ``"<ExceptionType>: <message>"``."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A complete answer: status, the whole body and the headers (case-insensitive lookups)."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not."""
        return jsonlib.loads(self.body)

    def text(self) -> str:
        """The body decoded with the charset the answer names (UTF-8 when none), never raising."""
        content_type = self.headers.get("Content-Type", "")
        charset = "utf-8"
        for part in content_type.split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


class HttpClient:
    """One keep-alive connection pool for outbound requests; share one between notifiers, or let each
    notifier own one. Use it from one event loop; after :meth:`aclose` the next request opens a new
    pool."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        limit_per_host: int = DEFAULT_LIMIT_PER_HOST,
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
    ) -> None:
        self.limit = limit
        self.limit_per_host = limit_per_host
        self.keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._env_proxies: dict[str, str] = {}
        self._proxies: dict[str, str | None] = {}

    def _pool(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and not self._session.closed:
            if self._loop is not loop:
                raise RuntimeError(
                    "this HttpClient's connections belong to another event loop; "
                    "create one HttpClient per event loop"
                )
            return self._session
        connector = aiohttp.TCPConnector(
            limit=self.limit,
            limit_per_host=self.limit_per_host,
            keepalive_timeout=self.keepalive_s,
            use_dns_cache=False,
            resolver=aiohttp.ThreadedResolver(),
        )
        # trust_env would look up proxies and ~/.netrc in a worker thread on every request (about a
        # millisecond); the proxy environment is read once per pool instead (_proxy_for).
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._loop = loop
        self._env_proxies = getproxies_environment()
        self._proxies = {}
        return self._session

    def _proxy_for(self, url: str) -> str | None:
        """The proxy for ``url``'s origin from ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` /
        ``NO_PROXY`` (looked up once per origin and pool); aiohttp sends its ``user:password``."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            self._proxies[origin] = environment_proxy(url, self._env_proxies)
        return self._proxies[origin]

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        json: Any | None = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout_s: float,
    ) -> HttpAnswer:
        """Send one request and read the whole answer.

        The body is ``content`` (bytes as given), ``json`` (compact UTF-8 JSON, ``Content-Type:
        application/json`` unless ``headers`` name one) or ``form`` (URL-encoded); at most one of
        them. ``params`` are added to the URL's query. Raises :class:`HttpTimeout` or
        :class:`HttpUnreachable`; any HTTP status is returned as an answer."""
        if sum(body is not None for body in (content, json, form)) > 1:
            raise ValueError("give at most one of content, json and form")
        send_headers = dict(headers or {})
        data = content
        if json is not None:
            data = jsonlib.dumps(
                json, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
            _default(send_headers, "Content-Type", "application/json")
        elif form is not None:
            data = urlencode(list(form.items())).encode()
            _default(send_headers, "Content-Type", "application/x-www-form-urlencoded")
        if basic_auth is not None:  # replaces an Authorization header, as httpx's auth= did
            for key in [k for k in send_headers if k.lower() == "authorization"]:
                del send_headers[key]
            send_headers["Authorization"] = _basic(*basic_auth)
        session = self._pool()
        try:
            proxy = self._proxy_for(url)
            async with session.request(
                method,
                url,
                data=data,
                params=dict(params) if params is not None else None,
                headers=send_headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
                proxy=proxy,
            ) as response:
                body = await response.read()
                return HttpAnswer(response.status, body, response.headers)
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutError subclasses
            raise HttpTimeout(method, url, timeout_s) from exc
        except (aiohttp.ClientError, OSError, ValueError) as exc:  # ValueError: a malformed URL
            raise HttpUnreachable(method, url, _cause(exc)) from exc

    async def aclose(self) -> None:
        """Close every pooled connection."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def environment_proxy(url: str, proxies: Mapping[str, str] | None = None) -> str | None:
    """The proxy for ``url`` from ``proxies`` (by default the environment's ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``ALL_PROXY``, read now), or None when there is none or ``NO_PROXY`` names
    the host."""
    if proxies is None:
        proxies = getproxies_environment()
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    bypass = bool(proxy) and proxy_bypass(parts.hostname or "")
    return None if not proxy or bypass else proxy


def _default(headers: dict[str, str], name: str, value: str) -> None:
    if not any(key.lower() == name.lower() for key in headers):
        headers[name] = value


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _cause(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"
