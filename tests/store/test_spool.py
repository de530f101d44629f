"""The local spool: durable lines, read back in order, a torn last line skipped, failures named."""

from __future__ import annotations

from pathlib import Path

import pytest

from duress.domain.errors import StoreUnavailable
from duress.domain.events import NewEvent, Subject, SubjectKind
from duress.store.spool import Spool
from duress.testing import FakeClock


def test_a_torn_last_line_is_skipped_and_an_unwritable_spool_is_named(tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    event = NewEvent(
        "button.pressed", FakeClock().now(), Subject(SubjectKind.BADGE, "b-1"), {"seq": 1}
    )
    spool.write([event], {"alert:a-1": None})
    with path.open("a") as out:
        out.write('{"events": [{"type": "button.pres')  # the crash came mid-write
    [batch] = spool.pending()
    assert batch.events[0].payload == {"seq": 1}
    assert batch.timers == {"alert:a-1": None}
    blocked = Spool(tmp_path)  # a folder: cannot be appended to
    with pytest.raises(StoreUnavailable, match="cannot be written"):
        blocked.write([event])
