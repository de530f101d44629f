"""The location engine in its own process, seen from the server: the ``BadgeLocator`` port.

:class:`WorkerLocator` starts ``python -m duress.service.location_process``, sends it each batch
of sightings (:meth:`take`) and keeps the places it reports, so that "where is this badge now?"
(a press, the board, proximity routing) is answered at once from memory, aged to the moment it is
asked (:func:`~duress.domain.location_report.location_at`). Presses, alert steps and the API stay
on the server's event loop and interpreter, which the engine's work no longer shares.

If the process dies, it is started again and the batches it had not answered are sent again, once
(a batch a second process dies on too is dropped); the badges' places are rebuilt by the sightings
that follow (a few seconds). While no process runs,
:meth:`take` raises :class:`LocationUnavailable` and the server rejects those sightings with that
reason (gateways send sightings every second; presses never go this way).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from duress.domain.errors import LocationUnavailable
from duress.domain.events import BadgeMoved
from duress.domain.location_params import LocationParams
from duress.domain.location_report import PlaceReport, location_at
from duress.domain.observations import Sighting
from duress.domain.site import Site
from duress.service.engine_locator import describe
from duress.service.location_process import HEADER, MAX_FRAME, PRIORITY_VARIABLE
from duress.service.sighting_work import REFRESH_S, Decoding, SightingReport, rows_of

log = structlog.get_logger(__name__)

START_TIMEOUT_S = 60.0
"""How long the process may take to load the site and answer ``ready``."""
RESTART_DELAY_S = 1.0
"""How long to wait before starting a process again after a start failed."""
STOP_TIMEOUT_S = 5.0


def _frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class WorkerLocator:
    """Badge locations from the location engine in a process of its own."""

    def __init__(
        self,
        site: Site,
        params: LocationParams | None = None,
        *,
        refresh_s: float = REFRESH_S,
        command: Sequence[str] | None = None,
        priority: str = "idle",
    ) -> None:
        self.site = site
        self.priority = priority
        """``idle`` or ``low``: see :data:`~duress.service.location_process.PRIORITY_VARIABLE`."""
        self.params = params or LocationParams()
        self.refresh_s = refresh_s
        self.command = list(command or (sys.executable, "-m", "duress.service.location_process"))
        self.restarts = 0
        """How many times the process was started again after it died."""
        self._places: dict[str, PlaceReport] = {}
        self._pending: dict[int, tuple[asyncio.Future[SightingReport], bytes]] = {}
        self._resent: set[int] = set()
        """Batches already sent again once: a batch the next process also dies on is dropped."""
        self._decodings: dict[int, tuple[Decoding, bytes]] = {}
        """id(decoding) → (decoding, its registration frame), sent again to a new process."""
        self._ids = itertools.count(1)
        self._feed: bytes | None = None
        """The frame that starts the process's sighting feed, sent again to a new process."""
        self._on_feed: Callable[[SightingReport, Any], None] | None = None
        self.feed_state: tuple[bool, str] | None = None
        """The sighting feed's last word: (subscribed, detail); None before its first."""
        self.feed_subscribed = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._replies: asyncio.Task[None] | None = None
        self._stopping = False

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the process and wait until it has loaded the site."""
        self._stopping = False
        await self._spawn()

    async def stop(self) -> None:
        """Close the process's input (it ends), wait for it; batches not answered fail."""
        self._stopping = True
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._replies is not None:
            self._replies.cancel()
            await asyncio.gather(self._replies, return_exceptions=True)
            self._replies = None
        self._fail_pending("the location process stopped")

    @property
    def pending(self) -> int:
        """Batches sent and not yet answered."""
        return len(self._pending)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def probe(self) -> None:
        """Readiness (``/readyz``): raises ``OSError`` saying why while no process takes batches,
        or while its sighting feed has lost the broker."""
        if not self.running:
            restarts = f" (restarted {self.restarts} times)" if self.restarts else ""
            raise OSError(f"the location process is not running; it is being started{restarts}")
        if self._feed is not None and self.feed_state is not None and not self.feed_state[0]:
            raise OSError(f"the location process's sighting subscription: {self.feed_state[1]}")

    # --- the sighting feed ----------------------------------------------------------------------

    def feed(self, feed: Any, on_report: Callable[[SightingReport, Any], None]) -> None:
        """Have the process subscribe to sighting messages itself (decision 13): ``feed`` is a
        picklable :class:`~duress.service.sighting_work.Feed`; each batch it located comes back
        through ``on_report(report, counts)`` (places already applied), in order."""
        self._feed = _frame(("feed", feed))
        self._on_feed = on_report
        self.feed_state = None
        self.feed_subscribed.clear()
        self._write(self._feed)

    def unfeed(self) -> None:
        """Stop the process's sighting feed."""
        if self._feed is None:
            return
        self._feed, self._on_feed, self.feed_state = None, None, None
        self.feed_subscribed.clear()
        self._write(_frame(("feed", None)))

    def _write(self, frame: bytes) -> None:
        process = self._process
        if process is not None and process.stdin is not None and not process.stdin.is_closing():
            process.stdin.write(frame)

    def _heard_from_feed(self, message: tuple[Any, ...]) -> None:
        if message[0] == "feed_state":
            subscribed, detail = message[1], message[2]
            if self.feed_state is None or self.feed_state[0] != subscribed:
                (log.info if subscribed else log.warning)("location.feed", detail=detail)
            self.feed_state = (subscribed, detail)
            if subscribed:
                self.feed_subscribed.set()
            else:
                self.feed_subscribed.clear()
            return
        report, counts = message[1], message[2]
        self._places.update(report.places)
        if self._on_feed is not None:
            self._on_feed(report, counts)

    async def _spawn(self) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, PRIORITY_VARIABLE: self.priority},
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(_frame((self.site, self.params, self.refresh_s)))
            ready = await asyncio.wait_for(_read(process.stdout), START_TIMEOUT_S)
            if ready != ("ready",):
                raise LocationUnavailable(f"the location process answered {ready!r}, not ready")
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        if self._stopping:  # stopped while this one was starting: it ends with its input
            process.stdin.close()
            await process.wait()
            return
        for _, frame in self._decodings.values():
            process.stdin.write(frame)
        if self._feed is not None:
            self.feed_state = None
            process.stdin.write(self._feed)
        for ident in [i for i in self._pending if i in self._resent]:
            # Two processes died with this batch unanswered: it may be what kills them.
            future, _ = self._pending.pop(ident)
            self._resent.discard(ident)
            if not future.done():
                future.set_exception(
                    LocationUnavailable("the location process died twice on this batch")
                )
            log.error("location.batch_dropped", batch=ident)
        for ident, (_, frame) in self._pending.items():  # what the last process did not answer
            process.stdin.write(frame)
            self._resent.add(ident)
        self._process = process
        self._replies = asyncio.create_task(self._read_replies(process), name="location-replies")
        log.info("location.process_started", pid=process.pid, resent=len(self._pending))

    async def _read_replies(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                message = await _read(process.stdout)
                if message is None:
                    break
                if type(message[0]) is str:
                    self._heard_from_feed(message)
                else:
                    self._answer(message)
        except (ConnectionError, ValueError, pickle.UnpicklingError) as error:
            log.error("location.bad_reply", error=str(error))
        if self._stopping:
            return
        if process.returncode is None:  # alive but talking nonsense: start afresh
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        code = await process.wait()
        self.feed_subscribed.clear()
        log.error("location.process_died", returncode=code, unanswered=len(self._pending))
        self._process = None
        self.restarts += 1
        while not self._stopping:
            try:
                await self._spawn()
                return
            except Exception as error:  # keep trying: sightings stay refused meanwhile
                log.error("location.process_start_failed", error=str(error))
                self._fail_pending(f"the location process cannot start: {error}")
                await asyncio.sleep(RESTART_DELAY_S)

    def _answer(self, message: tuple[Any, ...]) -> None:
        entry = self._pending.pop(message[0], None)
        self._resent.discard(message[0])
        if entry is None or entry[0].done():
            return
        future = entry[0]
        report = message[1]
        if report is None:
            future.set_exception(LocationUnavailable(f"the location process failed: {message[2]}"))
            return
        self._places.update(report.places)
        future.set_result(report)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(LocationUnavailable(reason))

    # --- sightings ----------------------------------------------------------------------------

    async def take(
        self, sightings: Sequence[tuple[int, Sighting]], now: datetime
    ) -> SightingReport:
        """Send a batch to the process; its report once taken (places already applied)."""
        ident = next(self._ids)
        return await self._send(ident, _frame((ident, now.timestamp(), rows_of(sightings))))

    async def take_undecoded(
        self, messages: Sequence[Any], decoding: Decoding, now: datetime
    ) -> SightingReport:
        """Send messages as received, for the process to decode with ``decoding`` and locate."""
        key = id(decoding)
        if key not in self._decodings:
            registration = _frame(("decoding", key, decoding))
            self._decodings[key] = (decoding, registration)
            self._write(registration)
        ident = next(self._ids)
        return await self._send(ident, _frame((ident, now.timestamp(), list(messages), key)))

    async def _send(self, ident: int, frame: bytes) -> SightingReport:
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            raise LocationUnavailable("the location process is not running (it is starting again)")
        future: asyncio.Future[SightingReport] = asyncio.get_running_loop().create_future()
        self._pending[ident] = (future, frame)
        process.stdin.write(frame)
        with contextlib.suppress(ConnectionError):  # it died: the batch is sent again on restart
            await process.stdin.drain()  # the process is behind: wait, do not queue without end
        return await future

    def heartbeat(self, device: str, ts: datetime) -> None:
        self._write(_frame(("heartbeat", device, ts)))  # not answered; lost with a dead process

    def observe(self, sighting: Sighting, now: datetime) -> BadgeMoved | None:
        raise TypeError("the location process takes sightings: call take() with a batch")

    def advance(self, now: datetime) -> list[BadgeMoved]:
        return []  # the location process advances its engine after each batch it takes

    # --- locations ----------------------------------------------------------------------------

    def where(self, badge: str, now: datetime) -> Mapping[str, Any] | None:
        report = self._places.get(badge)
        if report is None:
            return None
        return describe(location_at(badge, report, now.timestamp(), self.params))

    def snapshot(self, now: datetime) -> Mapping[str, Mapping[str, Any]]:
        n = now.timestamp()
        return {
            badge: describe(location_at(badge, report, n, self.params))
            for badge, report in self._places.items()
        }


async def _read(stream: asyncio.StreamReader) -> Any | None:
    """The next frame's message, or None at the end of the stream."""
    try:
        head = await stream.readexactly(HEADER.size)
        (size,) = HEADER.unpack(head)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes is larger than {MAX_FRAME}")
        body = await stream.readexactly(size)
    except asyncio.IncompleteReadError:
        return None
    return pickle.loads(body)
