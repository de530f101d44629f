"""The location engine in a process of its own: ``python -m duress.service.location_process``.

The server (:class:`duress.service.worker_locator.WorkerLocator`) starts it and talks to it over
its standard input and output in frames: a 4-byte big-endian length, then a pickle. The first
frame is ``(site, params, refresh_s)``; the process answers ``("ready",)``. Then each frame is a
batch ``(ident, now, rows)`` (``now`` in POSIX seconds, rows as
:data:`~duress.service.sighting_work.SightingRow`), or a batch of messages as received
``(ident, now, messages, key)`` to decode with the decoding registered under ``key`` by an
earlier ``("decoding", key, decoding)`` frame; each batch is answered in order by
``(ident, report)``, or ``(ident, None, error)`` when it could not be taken. It ends when its input closes (the
server stopped, or died). Logs go to standard error.

Why a process: the engine's work per sighting is small but sightings are many; in the server's
interpreter it shares the CPU and the interpreter lock with presses. Here it shares neither.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import struct
import sys
from datetime import UTC, datetime
from typing import IO, Any

import structlog

from duress.service.sighting_work import Decoding, SightingWork

log = structlog.get_logger(__name__)

HEADER = struct.Struct(">I")
"""Each frame's length."""
MAX_FRAME = 256 * 1024 * 1024
NICENESS = 10
"""The process's CPU priority below the server's (``nice``): when both want the CPU, presses win."""


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
    """Take batches from ``source`` and answer on ``out`` until ``source`` ends."""
    first = read_frame(source)
    if first is None:
        return
    site, params, refresh_s = first
    work = SightingWork(site, params, refresh_s=refresh_s)
    gc.collect()
    gc.freeze()  # the site and the engine's tables live as long as the process
    write_frame(out, ("ready",))
    decodings: dict[int, Decoding] = {}
    while (frame := read_frame(source)) is not None:
        if frame[0] == "decoding":  # how to decode the messages sent undecoded under this key
            decodings[frame[1]] = frame[2]
            continue
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
            continue
        write_frame(out, (ident, report))


def main() -> None:
    from duress.logs import configure_logging

    out = sys.stdout.buffer
    # Its life is the server's: it ends when the server closes its input (or dies). A Ctrl-C or a
    # SIGTERM sent to the whole process group must not end it before the server has stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice on Windows
        os.nice(NICENESS)
    sys.stdout = sys.stderr  # frames own the standard output: a stray print must not corrupt one
    configure_logging("warning")
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
