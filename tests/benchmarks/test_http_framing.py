"""Request framing of the benchmark's bare servers: whole requests only, several per connection."""

from __future__ import annotations

from benchmarks.latency.http_framing import next_request, request_path

HOOK = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"


def test_a_whole_request_and_what_follows_it() -> None:
    request = next_request(HOOK + b"POST /am")
    assert request is not None
    head, body, rest = request
    assert request_path(head) == "/hook"
    assert (body, rest) == (b"body", b"POST /am")


def test_nothing_until_the_head_and_the_body_are_whole() -> None:
    assert next_request(HOOK[:20]) is None  # the head is cut
    assert next_request(HOOK[:-1]) is None  # the body is one byte short


def test_header_names_in_any_case_and_no_body_without_a_length() -> None:
    request = next_request(
        b"GET /healthz HTTP/1.1\r\ncontent-LENGTH: 2\r\n\r\nokGET / HTTP/1.1\r\n\r\n"
    )
    assert request is not None
    assert request[1] == b"ok"
    second = next_request(request[2])
    assert second is not None
    assert second[1:] == (b"", b"")
    assert request_path("garbage") == ""
