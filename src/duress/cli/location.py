"""``duress simulate``, ``duress locate`` and ``duress evaluate``: the location engine offline.

Registered by the main CLI as ``app.command()(location.simulate)``, ``app.command()(location.locate)``
and ``app.command()(location.evaluate)``.

- ``simulate`` runs the hospital radio simulator on a site and writes ``sightings.jsonl`` (native
  messages, one a line, each with its ``received_at``), ``presses.jsonl`` and ``truth.jsonl``.
- ``locate`` replays sightings (native, ESPresense, OpenMQTTGateway, mqtt_room or omlox lines)
  through the engine and writes one location line per badge per second; bad input is counted per
  reason and reported, never fatal, never located.
- ``evaluate`` scores locations against truth (see :mod:`duress.sim.evaluate`).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import json
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from duress.config.loader import load_site
from duress.domain.errors import ConfigError, InvalidMessage
from duress.domain.location import LocationEngine, LocationParams, epoch_seconds
from duress.domain.location_report import age_at, confidence_at
from duress.domain.observations import ButtonEvent, Heartbeat, Sighting, SightingKind
from duress.domain.precision import Precision
from duress.domain.site import Site
from duress.ingest.codecs import espresense, mqtt_room, native, omlox, openmqttgateway
from duress.ingest.codecs.fields import parse_timestamp
from duress.sim.evaluate import evaluate as score
from duress.sim.layout import build_hospital, with_badges
from duress.sim.lone_codes import lone_codes
from duress.sim.radio import RadioParams
from duress.sim.room_loss import room_loss
from duress.sim.scenario import Received, SimParams, record_to_json, simulated_badges
from duress.sim.scenario import simulate as run_simulation

BUILTIN_PREFIX = "builtin:"
"""``--site builtin:hospital[:FLOORSxROOMS]`` uses the simulator's synthetic hospital
(``builtin:hospital-doors``: with IR door monitors)."""
MAX_CLOCK_JUMP_S = 300.0
"""Without ``received_at``, a line more than this ahead of the replay clock does not move it."""


class InputFormat(StrEnum):
    NATIVE = "native"
    ESPRESENSE = "espresense"
    OPENMQTTGATEWAY = "openmqttgateway"
    MQTT_ROOM = "mqtt_room"
    OMLOX = "omlox"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


BUILTIN_SITES = ("hospital", "hospital-doors")
"""The simulator's layouts: ``hospital-doors`` has an IR door monitor at every IR room's door."""


def load_any_site(spec: str, badges: int = 0) -> Site:
    """A site YAML file/folder, or ``builtin:hospital[:FxR]`` (F floors, R rooms per side;
    ``builtin:hospital-doors[:FxR]`` with an IR door monitor at every IR room's door)."""
    if spec.startswith(BUILTIN_PREFIX):
        rest = spec[len(BUILTIN_PREFIX) :].split(":")
        floors, rooms = 3, 8
        if rest[0] not in BUILTIN_SITES or len(rest) > 2:
            raise typer.BadParameter(
                f"{spec!r}: use builtin:hospital, builtin:hospital:3x8 or builtin:hospital-doors"
            )
        if len(rest) == 2:
            try:
                floors, rooms = (int(v) for v in rest[1].split("x"))
            except ValueError:
                raise typer.BadParameter(f"{spec!r}: write FLOORSxROOMS, e.g. 3x8") from None
        return build_hospital(
            floors=floors,
            rooms_per_side=rooms,
            badges=max(badges, 10),
            door_monitors=rest[0] == "hospital-doors",
        )
    try:
        return load_site(Path(spec))
    except ConfigError as exc:
        problems = "\n  ".join(str(p) for p in exc.problems)
        raise typer.BadParameter(
            f"{spec}: the site configuration has problems:\n  {problems}"
        ) from None


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


# --- simulate ---------------------------------------------------------------------------------


def simulate(
    site: Annotated[
        str, typer.Option(help="Site YAML (file or folder), or builtin:hospital[-doors][:FxR].")
    ],
    out: Annotated[Path, typer.Option(help="Folder for sightings/presses/truth .jsonl.")],
    minutes: Annotated[float, typer.Option(min=0.05, help="Simulated minutes.")] = 10.0,
    badges: Annotated[int, typer.Option(min=1, help="Badges to simulate.")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 1,
    survey: Annotated[
        bool,
        typer.Option(
            help="The first badge walks a survey of every room; its walk goes to survey.jsonl "
            "(for duress calibrate)."
        ),
    ] = False,
    tx_spread: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Spread (dB, sd) of the BLE devices' true 1 m readings around their "
            "configured tx_power (0: exactly as configured).",
        ),
    ] = 0.0,
) -> None:
    """Simulate staff moving through a site; write sightings, presses and ground truth."""
    console = _console()
    the_site = load_any_site(site, badges)
    if site.startswith(BUILTIN_PREFIX):
        the_site = with_badges(the_site, badges)
    try:
        params = SimParams(radio=replace(RadioParams(), tx_spread_db=tx_spread))
        records = run_simulation(
            the_site, minutes=minutes, badges=badges, seed=seed, params=params, survey=survey
        )
        surveyor = simulated_badges(the_site, badges)[0] if survey else None
        out.mkdir(parents=True, exist_ok=True)
        counts = Counter[str]()
        total = int(minutes * 60) + 1
        with (
            (out / "sightings.jsonl").open("w") as sightings,
            (out / "presses.jsonl").open("w") as presses,
            (out / "truth.jsonl").open("w") as truth,
            (out / "survey.jsonl").open("w") if survey else nullcontext() as walk,
            _progress(console) as progress,
        ):
            task = progress.add_task("simulating", total=total)
            last_ts: datetime | None = None
            for record in records:
                if isinstance(record, Received):
                    o = record.observation
                    if isinstance(o, Sighting):
                        sightings.write(sighting_line(o, record.at) + "\n")
                        counts["sightings"] += 1
                    elif isinstance(o, Heartbeat):
                        sightings.write(_dump(record_to_json(record)) + "\n")
                        counts["heartbeats"] += 1
                    else:
                        presses.write(_dump(_button(o, record.at.isoformat())) + "\n")
                        counts["presses"] += 1
                    continue
                ts = record["ts"]
                row = {
                    "ts": ts.isoformat(),
                    "badge": record["badge"],
                    "floor": record["floor"],
                    "unit": record["unit"],
                    "room": record["room"],
                    "bay": record["bay"],
                    "zone": record["zone"],
                }
                truth.write(_dump(row) + "\n")
                counts["truth rows"] += 1
                if walk is not None and record["badge"] == surveyor:
                    point = {"ts": row["ts"], "badge": surveyor, "floor": record["floor"]}
                    walk.write(_dump({**point, "x": record["x"], "y": record["y"]}) + "\n")
                if ts != last_ts:
                    last_ts = ts
                    progress.advance(task)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(
        f"[green]wrote[/] {counts['sightings']:,} sightings, {counts['heartbeats']:,} heartbeats, "
        f"{counts['presses']:,} presses, "
        f"{counts['truth rows']:,} truth rows to {out}/"
        + (f"; the survey walk of {surveyor} to {out}/survey.jsonl" if surveyor else "")
    )


def sighting_line(o: Sighting, at: datetime) -> str:
    """One line of ``sightings.jsonl``: the native message with its ``received_at``."""
    msg: dict[str, Any] = {
        "type": "sighting",
        "ts": o.ts.isoformat(),
        "badge": o.badge,
        "device": o.device,
        "kind": o.kind.value,
    }
    if o.rssi is not None:
        msg["rssi"] = o.rssi
    if o.gateway is not None:
        msg["gateway"] = o.gateway
    msg["received_at"] = at.isoformat()
    return _dump(msg)


def _button(o: ButtonEvent, at: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "button", "ts": o.ts.isoformat(), "badge": o.badge, "seq": o.seq}
    msg["presses"] = o.presses
    if o.hold_s:
        msg["hold_s"] = o.hold_s
    if o.gateway is not None:
        msg["gateway"] = o.gateway
    msg["received_at"] = at
    return msg


# --- locate -----------------------------------------------------------------------------------


Decoded = tuple[datetime, Sighting]
"""(when it reached us, the sighting)"""


def _mapping_source(site: Site, fmt: InputFormat, mapping: Path | None) -> dict[str, Any]:
    """The id mapping of a wild format: ``--mapping FILE`` first, else the site's ``ingest:``."""
    if mapping is not None:
        try:
            loaded = yaml.safe_load(mapping.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise typer.BadParameter(f"{mapping}: cannot read the mapping: {exc}") from None
        if not isinstance(loaded, dict):
            raise typer.BadParameter(f"{mapping}: a mapping file is a YAML mapping (rooms: ...)")
        return loaded
    source = getattr(site.ingest, fmt.value, None)
    if source is None:
        raise typer.BadParameter(
            f"--format {fmt.value} needs an id mapping: add `ingest: {fmt.value}:` to the site "
            "or pass --mapping FILE (see docs/location.md)"
        )
    return {k: getattr(source, k) for k in source.__dataclass_fields__}


def _strings(table: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (table or {}).items()}


def _decoder(
    site: Site, fmt: InputFormat, mapping: Path | None
) -> Callable[[dict[str, Any], datetime], Sighting | None]:
    """A function of (one wrapped MQTT message, received_at) to a sighting (None: not one)."""
    m = _mapping_source(site, fmt, mapping)
    if fmt is InputFormat.ESPRESENSE:
        esp = espresense.EspresenseMapping(
            _strings(m.get("rooms")), _strings(m.get("devices")), m.get("gateway")
        )
        prefix = str(m.get("prefix") or espresense.DEFAULT_PREFIX)

        def esp_decode(msg: dict[str, Any], at: datetime) -> Sighting | None:
            record = espresense.decode(_topic(msg), _payload(msg), received_at=at, prefix=prefix)
            if isinstance(record, espresense.NodeStatus):
                return None
            return espresense.to_sighting(record, esp)

        return esp_decode
    if fmt is InputFormat.OPENMQTTGATEWAY:
        omg = openmqttgateway.OpenMqttGatewayMapping(
            _strings(m.get("gateways")), _strings(m.get("beacons"))
        )

        def omg_decode(msg: dict[str, Any], at: datetime) -> Sighting | None:
            advert = openmqttgateway.decode(_topic(msg), _payload(msg), received_at=at)
            return openmqttgateway.to_sighting(advert, omg)

        return omg_decode
    if fmt is InputFormat.MQTT_ROOM:
        room = mqtt_room.MqttRoomMapping(
            _strings(m.get("rooms")), _strings(m.get("devices")), m.get("gateway")
        )
        base = str(m.get("base") or mqtt_room.DEFAULT_BASE)

        def room_decode(msg: dict[str, Any], at: datetime) -> Sighting | None:
            report = mqtt_room.decode(_topic(msg), _payload(msg), received_at=at, base=base)
            return mqtt_room.to_sighting(report, room)

        return room_decode
    kinds = {
        str(k): SightingKind(str(v)) for k, v in (m.get("kinds") or {"ibeacon": "ble"}).items()
    }
    om = omlox.OmloxMapping(
        _strings(m.get("sources")),
        _strings(m.get("providers")),
        kinds,
        SightingKind(str(m.get("default_kind") or "ir")),
        m.get("gateway"),
    )

    def omlox_decode(msg: dict[str, Any], at: datetime) -> Sighting | None:
        payload = _payload(msg)
        body = msg.get("payload")
        if _topic(msg).endswith("/proximity") or (
            isinstance(body, dict) and "position" not in body
        ):
            return omlox.to_sighting(omlox.decode_proximity(payload, received_at=at), om)
        return omlox.to_sighting(omlox.decode_location(payload, received_at=at), om)

    return omlox_decode


def _topic(msg: dict[str, Any]) -> str:
    topic = msg.get("topic")
    if not isinstance(topic, str):
        raise InvalidMessage("bad_line", 'a line is {"tst": ..., "topic": ..., "payload": ...}')
    return topic


def _payload(msg: dict[str, Any]) -> bytes:
    body = msg.get("payload")
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def read_sightings(
    lines: Iterable[bytes],
    site: Site,
    fmt: InputFormat,
    mapping: Path | None,
    rejected: Counter[str],
    heartbeats: list[tuple[datetime, Heartbeat]] | None = None,
) -> Iterator[Decoded]:
    """Decode input lines in order; each bad one is counted in ``rejected`` by reason.
    Native heartbeat lines go to ``heartbeats`` when it is given (else they are counted as
    ``not_a_sighting:heartbeat``).

    Native lines of the common shape take :func:`native.decode_sighting_line`; the others, and the
    lines of every other format, ``json.loads`` and the format's own decoder.
    """
    decode = None if fmt is InputFormat.NATIVE else _decoder(site, fmt, mapping)
    fast = native.decode_sighting_line if decode is None else None
    ids: dict[str, str] = {}  # one string per badge or device id (see decode_sighting_line)
    clock: datetime | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if fast is not None:
            decoded = fast(line, ids=ids)
            if decoded is not None:
                yield decoded
                continue
        obj = json_object(line, rejected)
        if obj is None:
            continue
        try:
            if decode is None:
                at = _received(obj.get("received_at"))
                observation = native.decode_object(obj)
                if isinstance(observation, Heartbeat) and heartbeats is not None:
                    heartbeats.append((at or observation.ts, observation))
                    continue
                if not isinstance(observation, Sighting):
                    rejected[f"not_a_sighting:{obj.get('type')}"] += 1
                    continue
                if at is None:
                    # No arrival time: the replay clock follows the timestamps, but a wild jump
                    # ahead does not move it (so a far-future line is rejected as such).
                    ts = observation.ts
                    if clock is None or clock <= ts <= clock + timedelta(seconds=MAX_CLOCK_JUMP_S):
                        clock = ts if clock is None or ts > clock else clock
                    at = clock
                yield at, observation
                continue
            at = _received(obj.get("tst", obj.get("received_at")))
            if at is None:
                raise InvalidMessage("bad_timestamp", 'a line needs its arrival time in "tst"')
            sighting = decode(obj, at)
        except InvalidMessage as exc:
            rejected[exc.reason] += 1
            continue
        if sighting is None:
            rejected["status_message"] += 1
            continue
        yield at, sighting


def read_sightings_file(
    path: Path,
    site: Site,
    fmt: InputFormat,
    mapping: Path | None,
    rejected: Counter[str],
    heartbeats: list[tuple[datetime, Heartbeat]] | None = None,
) -> list[Decoded]:
    """Every sighting of the file at ``path`` (see :func:`read_sightings`); an unreadable file
    is a bad parameter."""
    try:
        with path.open("rb") as f:
            return list(read_sightings(f, site, fmt, mapping, rejected, heartbeats))
    except OSError as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None


def json_object(
    line: bytes | str, rejected: Counter[str], prefix: str = ""
) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None with the reason counted in ``rejected``
    (``not_json``, ``not_an_object``; after ``prefix``)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        rejected[f"{prefix}not_json"] += 1
        return None
    if not isinstance(obj, dict):
        rejected[f"{prefix}not_an_object"] += 1
        return None
    return obj


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while sightings are decoded and replayed.

    Decoding keeps every sighting until the replay (several small objects a line, no reference
    cycles): each collection walked all of them again, ~2.7 µs a line, more than the decoding
    itself. Memory is still freed by reference counting; the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _received(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]  # mosquitto_sub %j writes -0500, not -05:00
    return parse_timestamp(value, "received_at")


_arrival = operator.itemgetter(0)
"""The arrival time of a decoded ``(received_at, sighting)`` (a C-level sort key)."""


def replay(
    site: Site,
    decoded: Iterable[Decoded],
    params: LocationParams | None = None,
    on_progress: Callable[[int], None] | None = None,
    *,
    engine_type: type[LocationEngine] = LocationEngine,
    heartbeats: Iterable[tuple[datetime, Heartbeat]] = (),
) -> tuple[list[dict[str, Any]], LocationEngine]:
    """Replay sightings; one location row per badge per whole second of the input's time span.

    ``heartbeats`` (when each arrived, the heartbeat) tell the engine which IR devices work
    (``ir_offline_after``). ``engine_type``: the benchmark passes the pure-Python engine beside
    the compiled one.
    """
    engine = engine_type(site, params)
    items = list(decoded)
    if not items:
        return [], engine
    items.sort(key=_arrival)
    beats = sorted(heartbeats, key=_arrival)
    h = 0
    badges = sorted({s.badge for _, s in items if s.badge in site.badges})
    first = items[0][0].replace(microsecond=0)
    last = items[-1][0] + timedelta(seconds=1)
    observe = engine.observe
    report_of = engine.report
    engine_params = engine.params
    unknown_after = engine_params.unknown_after_s
    unknown = Precision.UNKNOWN.value
    rows: list[dict[str, Any]] = []
    append = rows.append
    second = first
    k = 0
    while second <= last:
        upto = bisect.bisect_right(items, second, lo=k, key=_arrival)  # those arrived by now
        for at, sighting in items[k:upto]:
            observe(sighting, at)
        k = upto
        while h < len(beats) and beats[h][0] <= second:
            engine.heartbeat(beats[h][1].device, beats[h][1].ts)
            h += 1
        engine.advance(second)  # the scans that became due by now (the server's timer)
        stamp = second.isoformat()
        now = epoch_seconds(second)
        # engine.locate(badge, second), without building each Location: the same ageing
        # (location_report.location_at) on the engine's report of the badge
        for badge in badges:
            report = report_of(badge)
            age = age_at(report, now) if report is not None else math.inf
            if report is None or age > unknown_after:
                append(
                    {
                        "ts": stamp,
                        "badge": badge,
                        "floor": None,
                        "unit": None,
                        "room": None,
                        "bay": None,
                        "zone": None,
                        "precision": unknown,
                        "confidence": 0.0,
                        "age_s": round(age, 1) if report is not None else None,
                    }
                )
                continue
            append(
                {
                    "ts": stamp,
                    "badge": badge,
                    "floor": report.floor,
                    "unit": report.unit,
                    "room": report.room,
                    "bay": report.bay,
                    "zone": report.zone,
                    "precision": report.precision.value,
                    "confidence": round(confidence_at(report, age, engine_params), 3),
                    "age_s": round(age, 1),
                }
            )
        if on_progress is not None:
            on_progress(k)
        second += timedelta(seconds=1)
    return rows, engine


_encode_row: Final = msgspec.json.Encoder().encode


def rows_text(rows: Iterable[dict[str, Any]]) -> str:
    """Location rows as JSON lines, the output of ``duress locate``: each line exactly as
    ``json.dumps`` writes it compactly, encoded by msgspec (6 x faster) where the two write the
    same bytes: an encoding in printable ASCII. msgspec writes other characters (and DEL) raw
    where ``json.dumps`` escapes them, and floats from 1e16 or below 1e-4 with another exponent
    style; a row's floats are rounded to 0.001 (confidence) and 0.1 s (age), so only a row with
    such characters takes ``json.dumps``."""
    parts: list[bytes] = []
    for row in rows:
        try:
            line = _encode_row(row)
        except (TypeError, UnicodeEncodeError):  # a value msgspec does not encode (json.dumps
            line = b"\x7f"  # writes it with str()), a lone surrogate (json.dumps escapes it)
        if not line.isascii() or b"\x7f" in line:
            line = _dump(row).encode()
        parts.append(line)
    parts.append(b"")
    return b"\n".join(parts).decode() if len(parts) > 1 else ""


def locate(
    site: Annotated[
        str, typer.Option(help="Site YAML (file or folder), or builtin:hospital[-doors][:FxR].")
    ],
    sightings: Annotated[Path, typer.Option(help="Input file, one message a line.")],
    format: Annotated[InputFormat, typer.Option(help="Input format.")] = InputFormat.NATIVE,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="YAML id mapping of a wild format (the keys of the site's ingest: entry)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output JSONL (default: standard output).")
    ] = None,
    badges: Annotated[int, typer.Option(min=1, help="Badges of a builtin: site.")] = 10,
) -> None:
    """Replay sightings through the location engine; one location per badge per second."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    the_site = load_any_site(site, badges)
    if site.startswith(BUILTIN_PREFIX):
        the_site = with_badges(the_site, badges)
    rejected: Counter[str] = Counter()
    heartbeats: list[tuple[datetime, Heartbeat]] = []
    with collector_paused():
        decoded = read_sightings_file(sightings, the_site, format, mapping, rejected, heartbeats)
        with _progress(console) as progress:
            task = progress.add_task("locating", total=len(decoded))
            rows, engine = replay(
                the_site,
                decoded,
                on_progress=lambda k: progress.update(task, completed=k),
                heartbeats=heartbeats,
            )
    for reason, count in engine.rejections.as_dict().items():
        if count:
            rejected[reason] += count
    text = rows_text(rows)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
    accepted = len(decoded) - sum(
        v for k, v in engine.rejections.as_dict().items() if k != "implausible_move"
    )
    console.print(
        f"{len(decoded) + sum(v for k, v in rejected.items() if k not in engine.rejections.as_dict()):,} "
        f"lines, {accepted:,} sightings used, {len(rows):,} location rows"
        + (f" → {out}" if out else "")
    )
    if rejected:
        console.print(reasons_table("rejected (never located)", rejected))
    _summarize_rooms(rows, console)


def reasons_table(title: str, counts: Counter[str]) -> Table:
    """Counts of lines or readings not used, one row per reason (``locate``, ``calibrate``)."""
    table = Table(title=title)
    table.add_column("reason")
    table.add_column("count", justify="right")
    for reason, count in sorted(counts.items()):
        table.add_row(reason, f"{count:,}")
    return table


def _summarize_rooms(rows: list[dict[str, Any]], console: Console) -> None:
    """Per badge: share of time in each place and how often it changed (flaps)."""
    by: dict[str, list[str | None]] = {}
    for row in rows:
        by.setdefault(row["badge"], []).append(row["room"] or row["zone"])
    for badge, places in by.items():
        counts = Counter(p for p in places if p is not None)
        changes = sum(1 for a, b in itertools.pairwise(places) if a != b)
        top = ", ".join(f"{p} {n / len(places):.0%}" for p, n in counts.most_common(3))
        console.print(f"{badge}: {top or 'never located'}; {changes} changes in {len(places)} s")


# --- evaluate ---------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open() as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["ts"] = datetime.fromisoformat(row["ts"]).astimezone(UTC)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise typer.BadParameter(
                    f"{path}:{n}: not a JSON row with an RFC 3339 ts"
                ) from None
            rows.append(row)
    return rows


def evaluate(
    truth: Annotated[Path, typer.Option(help="truth.jsonl from `duress simulate`.")],
    locations: Annotated[Path, typer.Option(help="Locations JSONL from `duress locate`.")],
    site: Annotated[
        str | None, typer.Option(help="The site (for area kinds and required precision).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the report as JSON here.")] = None,
    badges: Annotated[int, typer.Option(min=1, help="Badges of a builtin: site.")] = 10,
    offline: Annotated[
        list[str] | None,
        typer.Option(
            help="An IR device that sent nothing during the run (repeat for more): its room is "
            "scored apart from the IR rooms."
        ),
    ] = None,
    weakest: Annotated[
        int,
        typer.Option(
            min=0,
            help="List this many areas where the required precision was met least (with --site; "
            "areas with at least a minute of truth time; 0: none).",
        ),
    ] = 10,
    sightings: Annotated[
        Path | None,
        typer.Option(
            help="The native sightings the locations were replayed from (sightings.jsonl of "
            "`duress simulate`; with --site): adds where the wrong seconds in IR rooms went, "
            "the IR codes' share and the engine's."
        ),
    ] = None,
) -> None:
    """Score locations against truth: accuracy, required precision, delays, flaps, first fix,
    the areas where the required precision was met least and, with the sightings, where the
    wrong seconds in IR rooms went."""
    console = _console()
    truth_rows = _read_rows(truth)
    loc_rows = _read_rows(locations)
    the_site = load_any_site(site, badges) if site is not None else None
    dead = set(offline or ())
    if dead and the_site is None:
        raise typer.BadParameter("--offline names devices of a site: give --site too")
    if sightings is not None and the_site is None:
        raise typer.BadParameter("--sightings needs --site (its IR devices)")
    unknown = sorted(d for d in dead if the_site is not None and d not in the_site.devices)
    if unknown:
        raise typer.BadParameter(
            f"--offline {', '.join(unknown)}: no such device in the site; use a device id "
            "from its devices list"
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in truth_rows:
        groups.setdefault(str(row.get("scenario") or "all"), []).append(row)
    report: dict[str, Any] = {}
    for name, rows in groups.items():
        wanted = {r["badge"] for r in rows}
        report[name] = score(
            rows, [r for r in loc_rows if r["badge"] in wanted], the_site, offline=dead
        )
    if sightings is not None and the_site is not None:
        rejected: Counter[str] = Counter()
        received = read_sightings_file(sightings, the_site, InputFormat.NATIVE, None, rejected)
        for name, rows in groups.items():
            wanted = {r["badge"] for r in rows}
            theirs = [(at, s) for at, s in received if s.badge in wanted]
            loss = room_loss(
                the_site,
                rows,
                [r for r in loc_rows if r["badge"] in wanted],
                theirs,
                offline=dead,
            )
            report[name]["room_loss"] = loss.as_dict()
            report[name]["lone_codes"] = lone_codes(the_site, rows, theirs, offline=dead).as_dict()
        if rejected:
            console.print(f"sightings rejected: {dict(rejected)}")
    render_report(report, console)
    if the_site is not None and weakest:
        for name, figures in report.items():
            render_weakest(name, figures["by_area"], weakest, console)
    if any("room_loss" in figures for figures in report.values()):
        render_room_loss(report, console)
    if out is not None:
        out.write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"report → {out}")


def render_report(report: dict[str, Any], console: Console) -> None:
    table = Table(title="location accuracy (shares of truth time)")
    table.add_column("figure")
    for name in report:
        table.add_column(name, justify="right")
    figures: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("room accuracy", lambda r: r["room_accuracy"]),
        ("room accuracy (IR rooms)", lambda r: r["room_accuracy_ir"]),
        ("bay accuracy", lambda r: r["bay_accuracy"]),
        ("zone accuracy", lambda r: r["zone_accuracy"]),
        ("required precision met", lambda r: r["required_met"]),
        ("transition delay p50 s", lambda r: r["transition_delay_s"]["p50"]),
        ("transition delay p95 s", lambda r: r["transition_delay_s"]["p95"]),
        ("  into IR areas p95 s", lambda r: r["transition_delay_ir_s"]["p95"]),
        ("  into BLE-only areas p95 s", lambda r: r["transition_delay_ble_s"]["p95"]),
        ("zone accuracy (IR offline)", lambda r: r["zone_accuracy_ir_offline"]),
        ("  into IR-offline rooms p95 s", lambda r: r["transition_delay_ir_offline_s"]["p95"]),
        ("flaps per badge-hour", lambda r: r["flaps_per_badge_hour"]),
        ("  of the bay shown", lambda r: r["bay_flaps_per_badge_hour"]),
        ("time to first fix p95 s", lambda r: r["time_to_first_fix_s"]["p95"]),
    ]
    for label, get in figures:
        table.add_row(label, *(_cell(get(r)) for r in report.values()))
    kinds = sorted({k for r in report.values() for k in r["by_area_kind"]})
    for kind in kinds:
        table.add_row(
            f"{kind}: zone / room accuracy",
            *(_kind_cell(r["by_area_kind"].get(kind)) for r in report.values()),
        )
    console.print(table)


WEAKEST_MIN_SECONDS = 60.0
"""An area needs this much truth time to be listed among the weakest (a few seconds walked
through say little about its coverage)."""


def weakest_areas(by_area: dict[str, Any], count: int) -> list[tuple[str, dict[str, Any]]]:
    """The ``count`` areas with the lowest required-met share (then the most time), among those
    with at least :data:`WEAKEST_MIN_SECONDS` of truth time and a required precision."""
    scored = [
        (area, figures)
        for area, figures in by_area.items()
        if figures["required_met"] is not None and figures["seconds"] >= WEAKEST_MIN_SECONDS
    ]
    scored.sort(key=lambda item: (item[1]["required_met"], -item[1]["seconds"], item[0]))
    return scored[:count]


def render_weakest(name: str, by_area: dict[str, Any], count: int, console: Console) -> None:
    rows = weakest_areas(by_area, count)
    if not rows:
        return
    table = Table(title=f"{name}: areas where the required precision was met least")
    for column in ("area", "kind", "required", "seconds", "required met", "zone accuracy"):
        table.add_column(column, justify="left" if column in ("area", "kind") else "right")
    for area, figures in rows:
        table.add_row(
            area,
            str(figures["kind"]),
            str(figures["required"]),
            f"{figures['seconds']:.0f}",
            _cell(figures["required_met"]),
            _cell(figures["zone_accuracy"]),
        )
    console.print(table)


def render_room_loss(report: dict[str, Any], console: Console) -> None:
    """Where the wrong seconds in IR rooms went (:mod:`duress.sim.room_loss`), per scenario."""
    table = Table(title="wrong seconds in IR rooms (shares of the time in IR rooms)")
    table.add_column("class")
    names = [name for name, figures in report.items() if "room_loss" in figures]
    for name in names:
        table.add_column(name, justify="right")
    sections: list[tuple[str, Callable[[Any], str], list[tuple[str, str]]]] = [
        (
            "room_loss",
            _percent,
            [
                ("no code of the room yet (evidence)", "no_code_share"),
                ("only a code leaked on the way in (evidence)", "approach_code_share"),
                ("a code in hand, room not yet shown (engine)", "entry_wait_share"),
                ("shown, then dropped (engine)", "dropped_share"),
                ("another room shown (engine)", "other_room_share"),
                ("evidence", "evidence_share"),
                ("engine", "engine_share"),
            ],
        ),
        (
            "lone_codes",
            _per_hour,
            [
                ("lone codes a badge-hour: inside the room", "inside_per_badge_hour"),
                ("  to someone walking in (within 3 s)", "entering_per_badge_hour"),
                ("  to someone who left it within a minute", "lingering_per_badge_hour"),
                ("  to anyone else (passing by)", "passing_per_badge_hour"),
            ],
        ),
    ]
    for part, show, rows in sections:
        for label, key in rows:
            table.add_row(label, *(show(report[name][part][key]) for name in names))
        table.add_section()
    console.print(table)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def _per_hour(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _kind_cell(values: dict[str, Any] | None) -> str:
    if not values:
        return "–"
    return f"{_cell(values['zone_accuracy'])} / {_cell(values['room_accuracy'])}"
