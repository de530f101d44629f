"""A bulk ingest body, decoded where the location engine runs."""

from __future__ import annotations

import json
import pickle

from tests.sites import small_site

from duress.domain.observations import Heartbeat, Sighting
from duress.ingest.body_decoding import WHOLE_BATCH, NativeBodyDecoding, is_bulk


def test_only_large_bodies_without_a_button_event_are_bulk() -> None:
    sighting = b'{"type": "sighting"},'
    assert not is_bulk(b"[" + sighting * 3 + b"]")
    assert is_bulk(b"[" + sighting * 200 + b"]")
    assert not is_bulk(b"[" + sighting * 200 + b'{"type":"button"}]')


def test_observations_and_rejections_keep_their_place_in_the_batch() -> None:
    body = json.dumps(
        [
            {"type": "heartbeat", "ts": "2026-11-29T10:00:00+00:00", "device": "gw-1"},
            {"type": "sighting", "ts": "2026-11-29T10:00:00+00:00", "badge": "b-1"},
            {
                "type": "sighting",
                "ts": "2026-11-29T10:00:00+00:00",
                "badge": "b-1",
                "device": "ir-icu-1",
                "kind": "ir",
            },
        ]
    ).encode()
    decoding = pickle.loads(pickle.dumps(NativeBodyDecoding()))  # it travels to the process
    observations, rejected = decoding.decode(small_site(), [body])
    assert [(i, type(o)) for i, o in observations] == [(0, Heartbeat), (2, Sighting)]
    assert [(i, reason) for i, reason, _ in rejected] == [(1, "missing_field")]


def test_a_body_unusable_as_a_whole_is_rejected_as_a_whole() -> None:
    observations, rejected = NativeBodyDecoding().decode(small_site(), [b"{not json"])
    assert observations == []
    assert [(i, reason) for i, reason, _ in rejected] == [(WHOLE_BATCH, "not_json")]
