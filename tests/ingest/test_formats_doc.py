"""docs/formats.md stays true: every reason code is documented, the examples decode as shown."""

from __future__ import annotations

import json
import re
from pathlib import Path

from duress.ingest.codecs.native import decode_batch

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "formats.md").read_text("utf-8")
CODECS = ROOT / "src" / "duress" / "ingest" / "codecs"


def raised_reasons() -> set[str]:
    source = "\n".join(p.read_text("utf-8") for p in CODECS.glob("*.py"))
    return set(re.findall(r'InvalidMessage\(\s*"([a-z_]+)"', source))


def documented_reasons() -> set[str]:
    section = DOC.split("## Reject reasons", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_every_raised_reason_is_documented_and_no_other() -> None:
    raised = raised_reasons()
    assert len(raised) >= 15
    assert raised == documented_reasons()


def json_blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_batch_example_decodes_cleanly() -> None:
    batch = json_blocks()[0]
    result = decode_batch(batch.encode())
    assert len(result.observations) == 5
    assert result.rejections == []


def test_the_result_example_is_what_the_decoder_says() -> None:
    example, answer = json_blocks()[1], json.loads(json_blocks()[2])
    assert decode_batch(example.encode()).response_body() == answer
