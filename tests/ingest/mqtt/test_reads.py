from __future__ import annotations

import contextlib
import socket

from duress.ingest.mqtt.reads import MAX_PACKETS_PER_WAKEUP, read_all_waiting


class OnePacketAtATime:
    """Like paho's client: ``loop_read()`` reads one packet (here: one byte) per call."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.read: list[bytes] = []

    def socket(self) -> socket.socket:
        return self.sock

    def loop_read(self, max_packets: int = 1) -> int:
        with contextlib.suppress(BlockingIOError):
            self.read.append(self.sock.recv(1))
        return 0


def test_one_wakeup_reads_every_waiting_packet() -> None:
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    with ours, broker:
        client = OnePacketAtATime(ours)
        read_all_waiting(client)
        broker.sendall(b"sssssP")  # five sighting messages, then a press
        client.loop_read()
        assert b"".join(client.read) == b"sssssP"
        client.loop_read()  # nothing waiting: one read attempt, no spinning
        assert b"".join(client.read) == b"sssssP"


def test_a_flood_is_read_in_bounded_slices() -> None:
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    with ours, broker:
        client = OnePacketAtATime(ours)
        read_all_waiting(client)
        broker.sendall(b"s" * (MAX_PACKETS_PER_WAKEUP + 10))
        client.loop_read()
        assert len(client.read) == MAX_PACKETS_PER_WAKEUP
        client.loop_read()
        assert len(client.read) == MAX_PACKETS_PER_WAKEUP + 10


def test_an_error_stops_the_reading_and_is_returned() -> None:
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    with ours, broker:
        client = OnePacketAtATime(ours)
        calls = 0

        def failing(max_packets: int = 1) -> int:
            nonlocal calls
            calls += 1
            return 7  # paho's MQTT_ERR_CONN_LOST

        client.loop_read = failing  # type: ignore[method-assign]
        read_all_waiting(client)
        broker.sendall(b"ss")
        assert client.loop_read() == 7
        assert calls == 1
