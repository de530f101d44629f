"""The location engine's parameters, each with its default and the reason for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class LocationParams:
    """The engine's tuning. Every default is documented in ``docs/location.md``."""

    reorder_tolerance_s: float = 2.0
    """A sighting older than the badge's newest one by more than this is ``out_of_order``."""
    future_tolerance_s: float = 2.0
    """A sighting stamped later than ``now`` by more than this is ``future`` (clock ahead)."""
    max_delay_s: float = 30.0
    """A sighting older than ``now`` by more than this is ``late``: too old to be useful."""
    rssi_min_dbm: float = -120.0
    rssi_max_dbm: float = 0.0
    ir_tau_s: float = 4.0
    """Time constant of the decayed IR hit score."""
    ir_hold_s: float = 6.0
    """An IR place stays fresh this long after its last hit (covers a few missed detections)."""
    ir_enter_score: float = 1.5
    """Score an IR place needs to take over from another place (about two hits in a few s)."""
    ir_margin: float = 0.5
    """Lead an IR challenger needs over a fresh IR incumbent."""
    ir_bay_hold_s: float = 600.0
    """Bay hold: a bay is kept this long after its emitter's last hit while its room is held
    (fresh IR or the quiet hold) and no other bay of the room is seen; 0: only while fresh."""
    ir_bay_enter_score: float = 1.5
    """Score another bay needs to replace a held bay whose emitter went silent (two hits)."""
    ir_bay_move_gap_s: float = 2.0
    """Bay move (the latest evidence wins): another bay of the held room hit at most this long
    after the held bay's last hit, which ended a run of hits (score at least
    ``ir_bay_enter_score``), is someone walking from one bay into the next: it replaces the held
    bay once the held bay has stayed silent for ``ir_bay_move_quiet_s`` (at once at its second
    hit), even with one hit and in the quiet hold (a blind spot of the new bay). A later hit is a
    reflection, not a move; a bay whose last hit is older than the held bay's never replaces it.
    0 turns it off."""
    ir_bay_move_quiet_s: float = 3.0
    """How long the held bay must stay silent after its last hit before a one-hit bay move
    completes."""
    ble_window_s: float = 5.0
    """Window of the per-device RSSI median (of the last three readings inside it)."""
    ble_update_s: float = 1.0
    """A badge's BLE position is re-estimated at most this often (the engine's main speed lever)."""
    ble_top_k: int = 4
    """Strongest devices used in the weighted centroid."""
    ble_path_loss_exponent: float = 2.5
    """Log-distance exponent used to turn RSSI into metres (2 free space, 2.5-3 indoors)."""
    ble_default_tx_power: float = -59.0
    """RSSI at 1 m assumed for a BLE device configured without ``tx_power``."""
    ble_floor_margin_db: float = 6.0
    """BLE changes floor only when the other floor's best device is this much stronger."""
    ble_margin_m: float = 1.0
    """A BLE estimate must be this far outside the incumbent's area to count against it."""
    ble_sustain_s: float = 3.0
    """A BLE challenger must persist this long before it replaces a BLE incumbent."""
    ble_deep_m: float = 2.0
    """An estimate at least this far outside the incumbent's area is a *deep* challenger."""
    ble_deep_sustain_s: float = 1.5
    """Sustain needed by a deep challenger (a walker is metres past the edge, not wobbling)."""
    ble_walk_estimates: int = 3
    """Motion cue: when the last this-many moves of the BLE estimate went one way at walking pace
    (someone walking, not a standing badge's wobble or drift), a deep challenger (``ble_deep_m``)
    wins without waiting for its sustain; 0 turns it off."""
    ble_walk_step_m: float = 0.8
    """The net move over those estimates must be at least this per estimate (walking pace)."""
    ble_walk_max_m: float = 3.0
    """A longer jump between two estimates (1 s apart) is noise, not walking (1-2 m/s)."""
    ble_walk_straight: float = 0.7
    """The net move must be at least this share of the path (a standing badge's estimate jumps
    back and forth; a walker's goes one way)."""
    ble_crossing_carry: bool = True
    """Corridor crossing: when the estimates outside a BLE incumbent went through a corridor
    and then deep (``ble_deep_m``) into another room, the time since the first corridor estimate
    counts toward that room's sustain (walking out of one room across the corridor into the
    other); off: every new challenger starts its sustain afresh (the rule before 2026-11-29)."""
    ble_grid: bool = True
    """Where BLE decides, the area comes from the grid filter (``duress.domain.ble_grid``: a
    Bayesian filter over floor cells, walls and walking pace included); False: from the weighted
    centroid with its margin and sustain (the rule before 2026-11-30). The default since it is
    faster to follow a walker and rarely fooled by a wall (docs/decisions/0021); turn it off for a
    site whose readings fit its radio model badly (a survey walk tells: docs/location.md, "The grid
    filter")."""
    ble_grid_cell_m: float = 1.0
    """The grid filter's cell size."""
    ble_grid_wall_db: float = 4.5
    """Loss per wall between a cell and a device (3-6 dB for hospital partition walls)."""
    ble_grid_sigma_db: float = 5.0
    """Spread of a reading around the model's expected value (shadowing and fading)."""
    ble_grid_loss: float = 0.15
    """Share of a device's advertisements (or reports) lost even at close range."""
    ble_grid_sensitivity_dbm: float = -98.0
    """Weakest reading heard; a device whose expected reading is far below it is not heard."""
    ble_grid_range_m: float = 30.0
    """No device is heard beyond this distance."""
    ble_grid_stay: float = 0.5
    """Share of a cell's probability that stays in it per motion sub-step (the rest goes to its
    neighbours): with two sub-steps a second, about walking pace."""
    ble_grid_substeps_per_s: float = 2.0
    """Motion sub-steps per second."""
    ble_grid_room_wall: float = 0.05
    """How likely a step across the wall between two rooms is, against a step within an area or
    between a room and its corridor (rooms open onto corridors, rarely onto each other)."""
    ble_grid_room_edge: float = 0.3
    """How likely a step between a room and a corridor is, against a step within an area (a room
    opens onto its corridor at its door only)."""
    ble_grid_still_switch: float = 0.1
    """Two motion modes: besides walking (the motion above), the badge may be standing still
    (no motion); each second it changes mode with this probability, and the readings decide
    which mode explains them (a standing badge's posterior sharpens instead of spreading at
    walking pace). 0: walking only."""
    ble_grid_heading: bool = True
    """Headings in the motion model, on floors without IR rooms: a walking badge keeps its
    heading (one of the four grid directions) from one step to the next, so the prior leads a
    walker instead of spreading around where it was (each cell's probability split into standing
    and the four headings; replaces the two modes of ``ble_grid_still_switch`` there). Off: the
    symmetric walk everywhere."""
    ble_grid_heading_with_ir: bool = False
    """Headings also on floors with IR rooms: there the prior carries a walker through a door
    sooner, and BLE shows the room before IR does, for lingerers at the door too (doorway flaps
    1.25 -> 3.4 per badge-hour in the benchmark); off: the symmetric walk on those floors."""
    ble_grid_heading_cells: float = 0.7
    """Cells a walking badge moves per motion sub-step along its heading (0.7 with 1 m cells and
    two sub-steps a second: 1.4 m/s)."""
    ble_grid_heading_turn: float = 0.02
    """Per sub-step, the share of a heading's probability that turns to each other heading (and
    where a wall blocks the heading, the whole step turns)."""
    ble_grid_heading_stop: float = 0.05
    """Per sub-step, the share of a heading's probability that stops (standing)."""
    ble_grid_heading_go: float = 0.01
    """Per sub-step, the share of the standing probability that starts walking in each heading."""
    ble_grid_seed_m: float = 1.0
    """A filter starts (BLE takes over from IR, or the badge's first BLE) on the cells within
    two cells of the strongest device, widened by this many metres."""
    ble_grid_core: float = 0.4
    """The challenger replaces a BLE incumbent only once this much probability lies in its core
    cells (away from its doors and walls): probability at a door is not yet inside."""
    ble_grid_sustain_s: float = 0.0
    """How long the grid's challenger must hold ``ble_grid_switch`` before it replaces the BLE
    incumbent."""
    ble_grid_ir_quiet: float = 0.1
    """How likely a second without any IR code is for a badge inside a room with IR (misses and
    blind spots): the grid filter's evidence from IR silence; 0: a room with IR is never chosen
    by BLE."""
    ble_grid_reseed: float = 0.001
    """Probability put around the strongest device at each step (a lost badge is found again)."""
    ble_grid_prune: float = 0.001
    """Cells with less than this share of the probability are dropped."""
    ble_grid_lag_s: float = 0.5
    """Readings are used this long after they were measured (a scan's readings arrive over a few
    hundred milliseconds and are judged together)."""
    ble_grid_timer: bool = True
    """:meth:`LocationEngine.advance` judges each badge's scan once it is ``ble_grid_lag_s`` old,
    on the engine's clock, usually before the badge's next sighting arrives; False: only the
    badge's own sightings step its filter, so a scan is judged when the next one starts arriving
    (the rule before 2026-11-30; the benchmark's ``no_grid_timer``)."""
    ble_grid_start_s: float = 5.0
    """A new filter (BLE takes over from IR, or a badge's first BLE) starts from each device's
    newest reading measured up to this long before its first step (1.0, the estimate's cadence,
    before 2026-11-30 06:30)."""
    ble_grid_step_s: float = 0.5
    """The grid filter steps at most this often (with the readings measured since its last step,
    up to ``ble_grid_lag_s`` before the newest arrival)."""
    ble_grid_switch: float = 0.8
    """The grid's most probable area replaces the BLE incumbent once its probability reaches
    this (hysteresis: a badge between two areas does not flap)."""
    ir_exit_db: float = 6.0
    """BLE *exit cue*: mean rise (dB) of the three strongest devices' filtered RSSI over the room's
    learnt BLE fingerprint above which the badge is taken to have left an IR room."""
    ir_exit_min_s: float = 1.5
    """The exit cue ends an IR stay early only once at least one IR broadcast was missed."""
    ir_ref_fresh_s: float = 1.5
    """The room's BLE fingerprint is learnt while its last IR hit is at most this old."""
    ir_ref_min_samples: int = 1
    """Fingerprint samples needed before the BLE change is trusted (exit cue, quiet hold)."""
    ir_quiet_exit_db: float = 9.0
    """The BLE change that ends a confirmed IR room in the quiet hold (no code for ``ir_hold_s``).
    Someone who walks out passes through the room's covered part and is seen on the way (the
    ordinary exit cue then ends the room at ``ir_exit_db``); a room gone quiet is most likely an
    IR blind spot, where a change between ``ir_exit_db`` and this is more often the body or a
    multipath burst than a walk out. 0: ``ir_exit_db`` as for a fresh room."""
    ir_quiet_confirmed_s: float = 10.0
    """A stay counts as confirmed for ``ir_quiet_exit_db`` once its room's codes span at least
    this long (a walk in and a dwell; not one code leaked through the door, or a few to someone
    lingering there)."""
    ir_quiet_max_s: float = 300.0
    """Longest an IR room is kept without IR hits while BLE shows no change (IR blind spots)."""
    ir_reenter_score: float = 2.5
    """IR score needed to go back into a room just left (doorway IR leaks are not a re-entry)."""
    ir_reenter_out_db: float = 3.0
    """While the BLE change from the room's fingerprint is at least this, going back into the
    room just left needs ``ir_reenter_out_score``."""
    ir_reenter_out_score: float = 3.5
    """Re-entry score while BLE says the badge is still outside (five or six quick hits)."""
    ir_reenter_window_s: float = 60.0
    """How long after an exit the stricter re-entry score applies."""
    ir_exit_fresh_run: bool = True
    """At the BLE exit cue the room's IR score starts afresh: going back in counts only the hits
    after the exit (off: the stay's own hits count, and a lingerer's next door leak re-entered at
    once, the rule before 2026-11-30)."""
    ir_reenter_needs_ble_cue: bool = False
    """Apply the re-entry score only while the BLE change says "outside" (the rule before
    2026-11; kept for the benchmark's ablation)."""
    ir_ble_inside_one_hit: bool = True
    """One IR code of a room enters it, even the room just left, while BLE already places the
    badge in that room (its zone): the code confirms what BLE says."""
    ir_overrules_ble_floor: bool = True
    ir_ble_relearn: bool = True
    """When one code enters the room BLE places the badge in (rule 6), the room's BLE fingerprint
    starts again from the badge's picture there: the one from an earlier stay, at another spot of
    the room, would end the stay at the first IR gap."""
    ir_exit_db_one_sample: float = 9.0
    """The exit cue's change while the room's fingerprint holds a single sample (taken as the
    wearer walked in, often still moving): it takes more than ``ir_exit_db`` to mean "walked out"."""
    ir_one_hit_m: float = 0.0
    """A single IR hit enters a room when the fresh BLE estimate lies within this distance of
    it (BLE agrees) and it is not the last room left; 0 (the default since 2026-11-30 18:00,
    decision 0028): two hits for every entry, except where BLE already places the badge in the
    room (``ir_ble_inside_one_hit``). 2.0 was the default before: entries about a second sooner,
    twice the doorway flaps."""
    ir_door_window_s: float = 2.0
    """Door entry (sites with IR door monitors, ``ir_door``): one code of a room enters it when
    the room's door monitor was seen within this many seconds of that code, and no longer ago,
    unless the room was left within ``ir_reenter_window_s`` (someone lingering in the doorway is
    in the door monitor's beam too). 0 turns door entry off."""
    ir_door_exit_s: float = 1.5
    """Door exit: the room shown ends when its door monitor saw the wearer (more than
    ``ir_door_window_s`` after the stay began) and no code of the room has come for this long
    since; 0 turns it off."""
    ir_door_alone: bool = False
    """Door entry on the door monitor alone: its code counts as a code of the room, so the room
    is shown as the wearer crosses the doorway, before the room's own monitor sees them (not the
    room shown, nor one left within ``ir_reenter_window_s``). Room accuracy over 0.995 with door
    monitors, at the cost of zone accuracy and some flaps (docs/benchmarks.md); off by default."""
    ir_one_hit_nearest: bool = True
    """BLE also agrees with a one-hit entry when the strongest device lies within ``ir_one_hit_m``
    of the room (rooms at the end of a corridor, beyond the centroid's reach)."""
    ir_one_hit_age_s: float = 2.0
    """The BLE estimate that agrees with a one-hit entry must be at most this old."""
    ir_beacon_entry: bool = True
    """Beacon entry: an IR room whose own BLE beacon (a device inside it) is the strongest device
    of the badge's estimates, by ``ir_beacon_entry_db`` over the next one, for
    ``ir_beacon_entry_s``, with no other room's IR fresh, is entered without an IR code (at room
    precision, confidence 0.6, source ``ble``); off: IR rooms are entered on IR codes only."""
    ir_beacon_entry_db: float = 6.0
    """Lead (dB, filtered RSSI) of the room's own beacon over the next device on the floor."""
    ir_beacon_entry_s: float = 3.0
    """How long the room's own beacon must lead without a break before it enters the room."""
    ir_offline_after: float = 2.0
    """An IR device not heard (a code or a heartbeat) for this many of its heartbeat intervals
    (the site's ``heartbeat_s``) is taken as offline, as device supervision does: while every IR
    device of a room is offline, the room counts as a room without IR (its silence is no evidence
    against someone being in it: BLE can find them there); 0: never."""
    floor_change_s_per_level: float = 6.0
    """Fastest plausible stairs/elevator time per level; quicker floor changes are held back."""
    stale_after_s: float = 15.0
    """Evidence older than this makes a location ``stale`` (shown with its age)."""
    unknown_after_s: float = 120.0
    """Evidence older than this makes the location ``unknown`` (the last known one is kept)."""
    confidence_half_life_s: float = 60.0
    """Confidence halves for every this many seconds of age."""
    accept_unregistered_badges: bool = False
    """Locate badges missing from ``site.badges`` (off: they are rejected as ``unknown_badge``)."""


def with_site_settings(
    params: LocationParams, settings: Mapping[str, float | int | bool]
) -> LocationParams:
    """``params`` with a site's ``location:`` settings (parameter name to value) in place; the
    site loader has checked each name and the type of each value (duress.config)."""
    if not settings:
        return params
    checked: dict[str, Any] = dict(settings)
    return replace(params, **checked)
