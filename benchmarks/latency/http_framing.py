"""HTTP/1.1 request framing for the benchmark's bare servers (the webhook receiver, the floor).

Only what those servers need: a request is its head up to the blank line and a body of
``Content-Length`` bytes (none without the header); keep-alive connections may carry several.
"""

from __future__ import annotations


def next_request(buffer: bytes) -> tuple[str, bytes, bytes] | None:
    """The first whole request in ``buffer`` as ``(head, body, rest)``, or None until it is whole.

    ``head`` is the request line and headers (latin-1); ``rest`` is what follows the body.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end].decode("latin-1")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if len(buffer) < end + 4 + length:
        return None
    return head, buffer[end + 4 : end + 4 + length], buffer[end + 4 + length :]


def request_path(head: str) -> str:
    """The path of the request line (``POST /hook HTTP/1.1`` → ``/hook``), or "" if there is none."""
    parts = head.split(" ", 2)
    return parts[1] if len(parts) > 1 else ""
