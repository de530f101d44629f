"""The location engine in a process of its own: ``python -m duress.service.location_process``.

The server (:class:`duress.service.worker_locator.WorkerLocator`) starts it and talks to it over
its standard input and output in frames: a 4-byte big-endian length, then a pickle. The first
frame is ``(site, params, refresh_s)``; the process answers ``("ready",)``. Then each frame is a
batch ``(ident, now, rows)`` (``now`` in POSIX seconds, rows as
:data:`~duress.service.sighting_work.SightingRow`), or a batch of messages as received
``(ident, now, messages, key)`` to decode with the decoding registered under ``key`` by an
earlier ``("decoding", key, decoding)`` frame; each batch is answered in order by
``(ident, report)``, or ``(ident, None, error)`` when it could not be taken.

A ``("feed", feed)`` frame starts the process's own subscription to the sighting topics
(:class:`~duress.ingest.mqtt.sighting_feed.SightingFeed`, decision 13; ``("feed", None)`` stops
it): what it receives is decoded, located and reported unasked as ``("feed", report, counts)``,
and each change of its connection as ``("feed_state", subscribed, detail)``. It ends when its
input closes (the server stopped, or died). Logs go to standard error.

Why a process: the engine's work per sighting is small but sightings are many; in the server's
interpreter it shares the CPU and the interpreter lock with presses. Here it shares neither.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import signal
import struct
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any

import structlog

from duress.service.sighting_work import Decoding, Feed, SightingReport, SightingWork

log = structlog.get_logger(__name__)

HEADER = struct.Struct(">I")
"""Each frame's length."""
MAX_FRAME = 256 * 1024 * 1024
NICENESS = 10
"""The process's CPU priority below the server's (``nice``): when both want the CPU, presses win."""
PRIORITY_VARIABLE = "DURESS_LOCATION_PRIORITY"
"""Set by the server (``server.location_priority``): ``low`` is ``nice`` +10 only; ``idle`` (the
default) also puts the process in Linux's idle scheduling class (``SCHED_IDLE``): it runs only on
CPU time no other process wants, and a waking server thread takes the CPU from it at once. With
``nice`` +10 alone a press still waited for it now and then: under 20,000 sightings/s over MQTT
the press p99 rose by 1.5–3.6 ms (HTTP) against at most 1.4 ms in the idle class."""


def write_frame(out: IO[bytes], message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(body)) + body)
    out.flush()


def read_frame(source: IO[bytes]) -> Any | None:
    """The next frame's message, or None at the end of the input."""
    head = source.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is larger than {MAX_FRAME}")
    body = source.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Take batches from ``source`` and answer on ``out`` until ``source`` ends.

    ``source`` is read in a thread of its own, so that the main thread takes, in arrival order,
    the server's frames and the batches of the sighting feed (when the server started one).
    """
    first = read_frame(source)
    if first is None:
        return
    site, params, refresh_s = first
    work = SightingWork(site, params, refresh_s=refresh_s)
    gc.collect()
    gc.freeze()  # the site and the engine's tables live as long as the process
    write_frame(out, ("ready",))
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threading.Thread(target=_read_into, args=(source, inbox), name="frames", daemon=True).start()
    decodings: dict[int, Decoding] = {}
    feed: Feed | None = None
    try:
        while (item := inbox.get()) is not None:
            if item is _FEED_WAITING:
                if feed is not None:
                    _locate_feed(work, feed, out)
            elif item[0] == "feed_state":
                write_frame(out, item)
            elif item[0] == "feed":  # the server starts (or, with None, stops) the sighting feed
                if feed is not None:
                    feed.stop()
                feed = item[1]
                if feed is not None:
                    _start(feed, inbox)
            elif item[0] == "decoding":  # how to decode messages sent undecoded under this key
                decodings[item[1]] = item[2]
            elif item[0] == "heartbeat":  # a fixed device is alive (IR supervision)
                work.engine.heartbeat(item[1], item[2])
            else:
                _answer(work, decodings, item, out)
    finally:
        if feed is not None:
            feed.stop()


_FEED_WAITING = ("feed_waiting",)


def _read_into(source: IO[bytes], inbox: queue.SimpleQueue[Any]) -> None:
    try:
        while (frame := read_frame(source)) is not None:
            inbox.put(frame)
    except Exception:  # a broken frame ends the process as its input's end would
        log.exception("location.bad_frame")
    inbox.put(None)


def _start(feed: Feed, inbox: queue.SimpleQueue[Any]) -> None:
    feed.start(
        lambda: inbox.put(_FEED_WAITING),
        lambda subscribed, detail: inbox.put(("feed_state", subscribed, detail)),
    )


def _answer(work: SightingWork, decodings: dict[int, Decoding], frame: Any, out: IO[bytes]) -> None:
    ident, now, rows, *undecoded = frame
    try:
        at = datetime.fromtimestamp(now, UTC)
        if undecoded:
            report = work.take_undecoded(decodings[undecoded[0]], rows, at)
        else:
            report = work.take(rows, at)
    except Exception as error:  # a bug in the engine must not end the process
        log.exception("location.batch_failed", rows=len(rows))
        write_frame(out, (ident, None, f"{type(error).__name__}: {error}"))
        return
    write_frame(out, (ident, report))


def _locate_feed(work: SightingWork, feed: Feed, out: IO[bytes]) -> None:
    """What the feed received, decoded and located, reported to the server unasked."""
    messages, batch = feed.take()
    if not messages and not batch.dropped:
        return
    try:
        report = work.take_undecoded(feed.decoding, messages, feed.now())
    except Exception as error:  # a bug in the engine must not end the process
        log.exception("location.batch_failed", rows=len(messages))
        report = SightingReport(
            undecoded=[
                (i, "ingest_failed", f"{type(error).__name__}: {error}")
                for i in range(len(messages))
            ]
        )
    named = {i for i, _, _ in report.undecoded}
    named.update(i for i, _, _ in report.rejected)
    named.update(i for i, _ in report.others)
    batch.topics = {i: messages[i].topic for i in named}
    write_frame(out, ("feed", report, batch))


def lower_priority(priority: str) -> str:
    """Lower this process's CPU priority (see :data:`PRIORITY_VARIABLE`); what it got."""
    got = "normal"
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice on Windows
        os.nice(NICENESS)
        got = "low"
    if priority == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            got = "idle"
        except (OSError, AttributeError) as error:  # not Linux: nice +10 it is
            log.warning("location.priority", wanted="idle", got=got, error=str(error))
    return got


def main() -> None:
    from duress.logs import configure_logging

    out = sys.stdout.buffer
    # Its life is the server's: it ends when the server closes its input (or dies). A Ctrl-C or a
    # SIGTERM sent to the whole process group must not end it before the server has stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lower_priority(os.environ.get(PRIORITY_VARIABLE, "idle"))
    sys.stdout = sys.stderr  # frames own the standard output: a stray print must not corrupt one
    configure_logging("warning")
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
