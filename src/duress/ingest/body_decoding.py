"""Decoding a bulk HTTP ingest body in the location process instead of the server's loop.

With the location engine in its own process (``server.location_engine: process``), a large body
of ``POST /api/v1/ingest`` that holds no button event (a gateway's batch of sightings) is handed to
the location process as received; it decodes it with :class:`NativeBodyDecoding` (the same
:func:`~duress.ingest.codecs.native.decode_batch`) and locates its sightings. A body with a button
event in it, and every small body, is decoded on the server's loop as before, so a press never
waits for the trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from duress.domain.errors import InvalidMessage
from duress.domain.observations import Observation
from duress.domain.site import Site
from duress.ingest.codecs import native

BULK_BODY_BYTES = 2048
"""Bodies larger than this (about a dozen native messages) are bulk."""
WHOLE_BATCH = -1
"""The index of a rejection of the body as a whole (not JSON, too large, not a batch)."""


def is_bulk(body: bytes) -> bool:
    """A body worth decoding in the location process: large, and with no button event in it."""
    return len(body) > BULK_BODY_BYTES and b'"button"' not in body


@dataclass(frozen=True)
class NativeBodyDecoding:
    """Decodes one native batch body (the only message) into observations by position in it."""

    limits: native.BatchLimits = native.DEFAULT_LIMITS

    def decode(
        self, site: Site, messages: Sequence[bytes]
    ) -> tuple[list[tuple[int, Observation]], list[tuple[int, str, str]]]:
        observations: list[tuple[int, Observation]] = []
        rejected: list[tuple[int, str, str]] = []
        for body in messages:
            try:
                batch = native.decode_batch(body, limits=self.limits)
            except InvalidMessage as error:
                rejected.append((WHOLE_BATCH, error.reason, error.detail))
                continue
            for index, result in enumerate(batch.results):
                if isinstance(result, native.Rejection):
                    rejected.append((result.index, result.reason, result.detail))
                else:
                    observations.append((index, result))
        return observations, rejected
