"""The BLE grid filter: which area of its floor a badge is in, from what it hears (pure).

Where BLE decides (no fresh IR), a weighted centroid of the strongest devices lags a walker by
several seconds and cannot tell the two sides of a wall apart. This module keeps, per badge, a
discrete Bayesian (histogram) filter over square cells of the floor (``ble_grid_cell_m``), each
cell in one room-level area or corridor:

- **Motion** (``ble_grid_substeps_per_s`` sub-steps a second): each cell keeps
  ``ble_grid_stay`` of its probability and spreads the rest to its four neighbours: walking pace.
  Between a corridor and a room the step is free (a room opens onto its corridor), between two
  rooms it is ``ble_grid_room_wall`` as likely (a shared wall is rarely a door), and a cell outside
  every area is no cell at all. A little probability (``ble_grid_reseed``) is put around the
  strongest device heard each step, so that a badge lost by the filter is found again.
- **Readings**: the log-distance model (``ble_path_loss_exponent``, each device's transmit power)
  less ``ble_grid_wall_db`` for each wall between the cell and the device (counted on the cell
  grid: a step into or out of a room-level area crosses a wall), with Gaussian noise
  (``ble_grid_sigma_db``), a share of multipath bursts and an outlier floor. A device of the floor
  that was *not* heard is evidence too: it is likely heard near it (``ble_grid_loss``,
  ``ble_grid_sensitivity_dbm``, ``ble_grid_range_m``).
- Each device's readings are used once, ``ble_grid_lag_s`` after they were measured, so that the
  readings of one scan, which reach the server over a few hundred milliseconds, are judged
  together.

The result is the probability of each area (summed over its cells); the engine's rule 3 shows the
most probable area and changes it only when the challenger's probability reaches
``ble_grid_switch`` (docs/location.md). Only the few cells with probability are visited (those
below ``ble_grid_prune`` are dropped), so a step costs a few microseconds compiled.

The floor's tables (each device's expected reading in each cell within its range) are built once,
with the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from librt.vecs import append, vec
from mypy_extensions import i64

from duress.domain.area_index import AreaIndex, bbox, level_of
from duress.domain.facility import Facility
from duress.domain.location_params import LocationParams

# mypyc has no native hypot or log10: called through these, not through a lookup of the name
# on the math module at every call (the grid tables make some 540,000 of them).
_hypot: Final = math.hypot
_log10: Final = math.log10

_FAR: Final = -200.0
"""The expected reading (dBm) stored for a cell beyond a device's range."""

_RES_HALF_DB: Final = 120
"""Residuals (reading minus expected) are looked up in 0.5 dB steps over ±60 dB."""

_RES_SHIFT_INT: Final = 10_000 - _RES_HALF_DB
_RES_SHIFT: Final = 10_000.5
"""``int(2 * rssi + _RES_SHIFT) - _RES_SHIFT_INT`` is ``round(2 * rssi) + _RES_HALF_DB``: a reading
in half-dB steps, offset so that less an expected reading (in half-dB steps) it indexes the
residual table; for any reading a receiver reports, without a call to ``round``."""

_MISS_LOWEST2: Final = -800
_MISS_CACHE: Final = 1000
"""The expected readings whose miss probability the tables keep: -400 to +100 dBm, in half-dB
steps (any other is worked out each time)."""

_BURST_SHARE: Final = 0.05
_BURST_MEAN_DB: Final = -12.0
_BURST_SIGMA_DB: Final = 4.0
_OUTLIER_DENSITY: Final = 1e-3
"""Multipath bursts (a share of readings, ``_BURST_MEAN_DB`` lower) and a floor for anything else,
so that one wild reading cannot empty the filter."""


def _half_even(x: float) -> float:
    """``round(x)`` as a float (halves to even), in native arithmetic: the grid's tables round a
    few hundred thousand expected readings when an engine starts."""
    y = math.floor(x)
    below = float(y)
    rest = x - below  # exact: x and its floor are within one unit
    if rest > 0.5 or (rest == 0.5 and y % 2 == 1):
        return below + 1.0
    return below


def _floor_from(lo: float, index: i64, u: float) -> tuple[float, i64]:
    """``math.floor(u)`` (as a float and as an integer), found by moving a nearby whole number
    ``lo`` (equal to ``index``) one at a time: native arithmetic, no Python integer."""
    while u >= lo + 1.0:
        lo += 1.0
        index += 1
    while u < lo:
        lo -= 1.0
        index -= 1
    return lo, index


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _normal_pdf(x: float, sigma: float) -> float:
    return math.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))


class FloorGrid:
    """The cells of one floor and each BLE device's expected reading in each of them."""

    __slots__ = (
        "area",
        "area_core",
        "area_ids",
        "area_ir",
        "area_mass",
        "area_number",
        "area_room",
        "area_seen",
        "cell_in_room",
        "cell_m",
        "core",
        "dev_gain",
        "dev_mean2",
        "dev_near",
        "devices",
        "dir_nb",
        "dir_w",
        "gain_lo",
        "head_scratch",
        "heard_gain",
        "nb",
        "nb_start",
        "nb_w",
        "nx",
        "ny",
        "residual",
        "scratch",
        "stay",
        "still_prior",
        "unheard",
        "walk_headings",
        "x0",
        "y0",
    )

    def __init__(
        self,
        x0: float,
        y0: float,
        nx: int,
        ny: int,
        area: list[int],
        area_ids: list[str],
        rooms: list[bool],
        devices: Iterable[tuple[str, float, float, float]],
        params: LocationParams,
        ir_areas: frozenset[str] = frozenset(),
    ) -> None:
        """``area``: per cell (``ix + iy * nx``) the index of its area in ``area_ids``, -1 for
        none; ``rooms``: per area, whether it is a room-level area (walls around it);
        ``devices``: ``(id, x, y, transmit power)`` of the floor's BLE devices; ``ir_areas``: the
        areas with IR (a badge in one is seen by IR almost every second)."""
        p = params
        self.x0 = x0
        self.y0 = y0
        self.nx = nx
        self.ny = ny
        self.cell_m = p.ble_grid_cell_m
        self.area: vec[i64] = vec[i64](area)
        """Per cell, the index of its area in ``area_ids`` (-1: no area)."""
        self.area_ids = area_ids
        self.area_number: dict[str, int] = {a: i for i, a in enumerate(area_ids)}
        """Area id -> its index in ``area_ids``."""
        self.area_ir: vec[bool] = vec[bool]([a in ir_areas for a in area_ids])
        self.area_room: list[bool] = rooms
        """Per area index, whether it is a room-level area (walls around it)."""
        # Per area index, a step's working sums (zero between steps).
        self.area_mass: vec[float] = vec[float]([0.0] * len(area_ids))
        self.area_core: vec[float] = vec[float]([0.0] * len(area_ids))
        self.area_seen: vec[bool] = vec[bool]([False] * len(area_ids))
        cells = nx * ny
        # The tables a step reads are unboxed vectors (librt.vecs): compiled, a read or a write
        # is a C double or int64, not a Python object (docs/decisions/0020).
        self.scratch: vec[float] = vec[float]([0.0] * cells)
        self.still_prior: vec[float] = vec[float]([0.0] * cells)
        """Per cell, the standing mode's prior during a step (zero between steps)."""
        # Motion: per cell its neighbours and the share of probability each gets per sub-step.
        nbs: list[list[int]] = [[] for _ in range(cells)]
        nb_ws: list[list[float]] = [[] for _ in range(cells)]
        stay: list[float] = [1.0] * cells
        move = 1.0 - p.ble_grid_stay
        for c in range(cells):
            a = area[c]
            if a < 0:
                continue
            ix = c % nx
            iy = c // nx
            found: list[tuple[int, float]] = []
            for jx, jy in ((ix - 1, iy), (ix + 1, iy), (ix, iy - 1), (ix, iy + 1)):
                if not (0 <= jx < nx and 0 <= jy < ny):
                    continue
                n = jx + jy * nx
                b = area[n]
                if b < 0:
                    continue
                weight = 1.0
                if a != b and (rooms[a] or rooms[b]):
                    weight = p.ble_grid_room_wall if rooms[a] and rooms[b] else p.ble_grid_room_edge
                found.append((n, weight))
            if not found:
                continue
            share = move / 4.0
            nbs[c] = [n for n, _ in found]
            nb_ws[c] = [share * w for _, w in found]
            stay[c] = 1.0 - sum(nb_ws[c])
        # Compressed rows: cell c's neighbours are nb[nb_start[c]:nb_start[c + 1]], with the
        # shares nb_w[...] (one flat vector each: no per-cell object to fetch in a step).
        starts = [0]
        for found_nb in nbs:
            starts.append(starts[-1] + len(found_nb))
        self.nb_start: vec[i64] = vec[i64](starts)
        self.nb: vec[i64] = vec[i64]([n for row in nbs for n in row])
        self.nb_w: vec[float] = vec[float]([w for row in nb_ws for w in row])
        self.stay: vec[float] = vec[float](stay)
        # Headings (``ble_grid_heading``): per direction (+x, -x, +y, -y) and cell, the neighbour
        # that way (-1: none, a wall or the edge) and how likely the step is (the weights above).
        dir_nb = [-1] * (4 * cells)
        dir_w = [0.0] * (4 * cells)
        for c in range(cells):
            for n, w in zip(nbs[c], nb_ws[c], strict=True):
                way = 0 if n == c + 1 else 1 if n == c - 1 else 2 if n == c + nx else 3
                dir_nb[way * cells + c] = n
                dir_w[way * cells + c] = w / move * 4.0 if move > 0.0 else 0.0
        self.dir_nb: vec[i64] = vec[i64](dir_nb)
        self.dir_w: vec[float] = vec[float](dir_w)
        self.head_scratch: vec[float] = vec[float]([0.0] * (4 * cells))
        """Per heading and cell, a step's working sums (zero between steps)."""
        self.walk_headings = p.ble_grid_heading
        """Whether the motion model has headings on this floor (the engine decides per floor:
        ``ble_grid_heading``, ``ble_grid_heading_with_ir``)."""
        # Core cells: every neighbour in the same area (a cell by a door or a wall to another
        # area is an edge cell).
        self.core: vec[bool] = vec[bool](
            [area[c] >= 0 and all(area[n] == area[c] for n in nbs[c]) for c in range(cells)]
        )
        # Readings: the log-density of a residual, and of a device being heard at all, by the
        # expected reading (0.5 dB steps).
        sigma = p.ble_grid_sigma_db
        burst_sigma = math.hypot(sigma, _BURST_SIGMA_DB)
        residual: list[float] = []
        for k in range(-_RES_HALF_DB, _RES_HALF_DB + 1):
            r = k * 0.5
            density = (
                (1.0 - _BURST_SHARE) * _normal_pdf(r, sigma)
                + _BURST_SHARE * _normal_pdf(r - _BURST_MEAN_DB, burst_sigma)
                + _OUTLIER_DENSITY
            )
            residual.append(math.log(density))
        self.residual: vec[float] = vec[float](residual)
        self.gain_lo = p.ble_grid_sensitivity_dbm - 40.0
        self.heard_gain: list[float] = []
        for k in range(2 * 100 + 1):
            mean = self.gain_lo + k * 0.5
            miss = p.ble_grid_loss + (1.0 - p.ble_grid_loss) * _normal_cdf(
                (p.ble_grid_sensitivity_dbm - mean) / sigma
            )
            miss = min(max(miss, 1e-6), 1.0 - 1e-4)
            self.heard_gain.append(math.log(1.0 - miss) - math.log(miss))
        # Per device: the expected reading in every cell (``_FAR`` beyond its range) and the cells
        # near it (where a lost badge is looked for); per cell the log-probability of hearing
        # none of the floor's devices. Written straight into the unboxed tables a step reads.
        floor_devices = list(devices)
        self.devices: dict[str, int] = {}
        self.dev_near: list[vec[i64]] = []
        total: i64 = cells * len(floor_devices)
        far2: i64 = round(_FAR * 2.0)
        far_gain = self.heard_gain[self._gain_index(_FAR)]
        mean2: vec[i64] = vec[i64]([far2] * total)
        gain: vec[float] = vec[float]([far_gain] * total)
        unheard: vec[float] = vec[float]([0.0] * cells)
        exponent = p.ble_path_loss_exponent
        reach = p.ble_grid_range_m
        cell = self.cell_m
        miss_of: vec[float] = vec[float]([math.nan] * _MISS_CACHE)
        """Per expected reading in half-dB steps from ``_MISS_LOWEST2`` up, its ``_miss_log``
        (NaN until first needed: a few hundred are)."""
        self.cell_in_room: vec[bool] = vec[bool]([a >= 0 and rooms[a] for a in area])
        """Per cell, whether its area is room-level (what ``_walls`` reads)."""
        cell_area = self.area
        wall_db = p.ble_grid_wall_db
        width: i64 = nx
        offset: i64 = 0
        for device_id, dx, dy, tx in floor_devices:
            near: list[int] = []
            ix0: i64 = max(0, math.floor((dx - reach - x0) / cell))
            ix1: i64 = min(nx - 1, math.floor((dx + reach - x0) / cell))
            iy0: i64 = max(0, math.floor((dy - reach - y0) / cell))
            iy1: i64 = min(ny - 1, math.floor((dy + reach - y0) / cell))
            gy: i64
            gx: i64
            for gy in range(iy0, iy1 + 1):
                cy = y0 + (float(gy) + 0.5) * cell
                for gx in range(ix0, ix1 + 1):
                    here: i64 = gx + gy * width
                    if cell_area[here] < 0:
                        continue
                    cx = x0 + (float(gx) + 0.5) * cell
                    ex = cx - dx
                    ey = cy - dy
                    d = math.sqrt(ex * ex + ey * ey)
                    if d > reach:
                        continue
                    if d <= 2.0 * cell:
                        near.append(here)
                    walls = self._walls(cx, cy, dx, dy, d)
                    mean = tx - 10.0 * exponent * _log10(d if d > 0.5 else 0.5) - walls * wall_db
                    m2: i64 = int(_half_even(mean * 2.0))  # exact: a whole number of half dB
                    mean = float(m2) * 0.5
                    mean2[offset + here] = m2
                    gain[offset + here] = self.heard_gain[self._gain_index(mean)]
                    slot = m2 - _MISS_LOWEST2
                    if 0 <= slot < _MISS_CACHE:
                        known = miss_of[slot]
                        if known != known:  # NaN: not worked out yet
                            known = miss_of[slot] = self._miss_log(mean, p)
                    else:
                        known = self._miss_log(mean, p)
                    unheard[here] += known
            if not near:
                # a device outside every area (a wall-mounted locator): its nearest cells
                near = self._nearest_cells(dx, dy, 4)
            self.devices[device_id] = len(self.dev_near)
            self.dev_near.append(vec[i64](near))
            offset += cells
        self.unheard: vec[float] = unheard
        self.dev_mean2: vec[i64] = mean2
        """Per device and cell, the expected reading in half-dB steps (each is a multiple of
        0.5 dB; ``_FAR`` beyond the device's range), device ``d``'s row starting at
        ``d * nx * ny``."""
        self.dev_gain: vec[float] = gain
        """Per device and cell (rows as in ``dev_mean2``), the log-odds of the device being
        heard there."""

    def expected(self, device: int, cell: int) -> float:
        """Device ``device``'s expected reading (dBm) in cell ``cell``: the log-distance model
        less the walls, to 0.5 dB (``_FAR`` beyond its range)."""
        return float(self.dev_mean2[device * self.nx * self.ny + cell]) * 0.5

    def _gain_index(self, mean: float) -> int:
        g = int((mean - self.gain_lo) * 2.0)
        top = len(self.heard_gain) - 1
        return 0 if g < 0 else (top if g > top else g)

    def _miss_log(self, mean: float, p: LocationParams) -> float:
        miss = p.ble_grid_loss + (1.0 - p.ble_grid_loss) * _normal_cdf(
            (p.ble_grid_sensitivity_dbm - mean) / p.ble_grid_sigma_db
        )
        return math.log(min(max(miss, 1e-6), 1.0))

    def _walls(self, ax: float, ay: float, bx: float, by: float, d: float) -> int:
        """Walls between two points ``d`` apart: steps into or out of a room-level area, half a
        cell apart (the tables of a 10-floor site take some 270,000 of these walks).

        Each step's cell is the floor of its coordinates in cells, found by moving the previous
        step's cell by whole cells (a step is under half a cell): the same cells as ``math.floor``
        at every step, in native arithmetic."""
        cell = self.cell_m
        steps: i64 = int(d / (0.5 * cell)) + 1
        nx: i64 = self.nx
        ny: i64 = self.ny
        x0 = self.x0
        y0 = self.y0
        area = self.area
        in_room = self.cell_in_room
        ex = bx - ax
        ey = by - ay
        ix: i64 = math.floor((ax - x0) / cell)
        iy: i64 = math.floor((ay - y0) / cell)
        lx = float(ix)  # the float value of ix: ix <= u < ix + 1 is lx <= u < lx + 1.0
        ly = float(iy)
        walls: i64 = 0
        prev: i64 = -2
        prev_room = False
        whole = float(steps)
        count = 0.0  # steps 0 to ``steps``, as floats (exact): i / steps is a native division
        while count <= whole:
            f = count / whole
            count += 1.0
            lx, ix = _floor_from(lx, ix, (ax + ex * f - x0) / cell)
            ly, iy = _floor_from(ly, iy, (ay + ey * f - y0) / cell)
            a: i64 = -1
            room = False
            if 0 <= ix < nx and 0 <= iy < ny:
                c = ix + iy * nx
                a = area[c]
                room = in_room[c]
            if prev != -2 and a != prev and (room or prev_room):
                walls += 1
            prev = a
            prev_room = room
        return walls

    def _nearest_cells(self, x: float, y: float, count: int) -> list[int]:
        found: list[tuple[float, int]] = []
        cell = self.cell_m
        for c in range(self.nx * self.ny):
            if self.area[c] < 0:
                continue
            cx = self.x0 + (c % self.nx + 0.5) * cell
            cy = self.y0 + (c // self.nx + 0.5) * cell
            found.append((math.hypot(cx - x, cy - y), c))
        found.sort()
        return [c for _, c in found[:count]]


class GridState:
    """One badge's filter: the cells with probability, on one floor."""

    __slots__ = (
        "best",
        "best_mass",
        "cells",
        "core",
        "floor",
        "heads",
        "masses",
        "probs",
        "still",
        "switch_at",
        "t",
    )

    def __init__(self, floor: FloorGrid, cells: list[int], t: float) -> None:
        self.floor = floor
        self.cells: vec[i64] = vec[i64](cells)
        """The cells with probability."""
        share = 1.0 / len(cells) if cells else 0.0
        self.probs: vec[float] = vec[float]([share] * len(cells))
        """Each of ``cells``' probability."""
        self.heads: vec[float] = vec[float]()
        """With ``ble_grid_heading``: per cell of ``cells`` (``4 * i + h``), the probability of
        walking in heading ``h``; the rest of the cell's probability is standing. Empty until the
        first step."""
        self.t = t
        """The time up to which readings have been used."""
        self.masses: dict[int, float] = {}
        """Per area index, its probability."""
        self.core: dict[int, float] = {}
        """Per area index, the probability of its core cells (away from its edges)."""
        self.best = -1
        self.best_mass = 0.0
        self.still = 0.5
        """The probability that the badge is standing still (``ble_grid_still_switch``)."""
        self.switch_at = math.inf
        """When the engine's challenger area last reached ``ble_grid_switch`` (inf: it has not
        since it became the challenger); ``ble_grid_sustain_s`` counts from it."""


def seed(floor: FloorGrid, device: int, exclude: int, t: float, spread_m: float = 3.0) -> GridState:
    """A new filter around one device (the strongest heard), outside area ``exclude`` (-1: none):
    the cells near it (within two cells), widened by ``spread_m``, equally likely."""
    grid = floor
    cell = grid.cell_m
    near = grid.dev_near[device]
    chosen: dict[int, bool] = {}
    frontier: list[int] = list(near)
    for c in frontier:
        chosen[c] = True
    for _ in range(int(spread_m / cell + 0.5)):
        grown: list[int] = []
        for c in frontier:
            for j in range(grid.nb_start[c], grid.nb_start[c + 1]):
                n = grid.nb[j]
                if n not in chosen:
                    chosen[n] = True
                    grown.append(n)
        frontier = grown
    cells = [c for c in chosen if grid.area[c] != exclude]
    if not cells:
        cells = list(chosen)
    return GridState(floor, cells, t)


def step(
    state: GridState,
    t: float,
    heard_dev: list[int],
    heard_rssi: list[float],
    strongest: int,
    ir_seen: dict[int, bool],
    params: LocationParams,
) -> None:
    """Advance the filter to ``t`` with one window's readings (device index, RSSI), each device
    at most once; every other device of the floor counts as not heard. ``ir_seen``: the IR areas
    whose IR saw the badge since the last step; in every other IR area, the silence of its IR is
    evidence against being there (``ble_grid_ir_quiet`` a second)."""
    grid = state.floor
    p = params
    dt = t - state.t
    if dt <= 0.0:
        return
    substeps = round(dt * p.ble_grid_substeps_per_s)
    substeps = 1 if substeps < 1 else (8 if substeps > 8 else substeps)
    scratch = grid.scratch
    cells = state.cells
    probs = state.probs
    heading = grid.walk_headings
    heads = state.heads
    modes = p.ble_grid_still_switch > 0.0 and not heading
    # The standing mode's prior is the posterior as it is (no motion): kept aside, by cell.
    still_prior = grid.still_prior
    before = cells
    if modes:
        for i in range(len(cells)):
            still_prior[cells[i]] = probs[i]
    if heading:
        if len(heads) != 4 * len(cells):
            heads = _even_heads(probs)
        cells, probs, heads = _walk_headings(grid, cells, probs, heads, substeps, p)
    else:
        cells, probs = _walk_symmetric(grid, cells, probs, substeps)
    # a lost badge is looked for around the strongest device heard
    if strongest >= 0 and p.ble_grid_reseed > 0.0:
        for i in range(len(cells)):
            scratch[cells[i]] = probs[i]
        near = grid.dev_near[strongest]
        extra = p.ble_grid_reseed / float(len(near))
        for c in near:
            if scratch[c] == 0.0:
                cells = append(cells, c)
                probs = append(probs, extra)
                if heading:
                    for _h in range(4):
                        heads = append(heads, 0.0)
        for c in cells:
            scratch[c] = 0.0
    # readings: log-likelihood per cell
    unheard = grid.unheard
    residual = grid.residual
    res_top: i64 = 2 * _RES_HALF_DB
    # per heard device: its rows (expected reading in half-dB steps, log-odds of hearing it)
    # and its reading in half-dB steps, so that a term is two lookups and a subtraction
    mean2 = grid.dev_mean2
    gain = grid.dev_gain
    row_size = grid.nx * grid.ny
    rows = vec[i64]([d * row_size for d in heard_dev])
    heard2 = vec[i64]([int(v * 2.0 + _RES_SHIFT) - _RES_SHIFT_INT for v in heard_rssi])
    n_heard = len(heard_dev)
    area = grid.area
    area_ir = grid.area_ir
    seen = grid.area_seen
    for a in ir_seen:
        seen[a] = True
    never_ir = p.ble_grid_ir_quiet <= 0.0
    quiet = -1e9 if never_ir else dt * math.log(p.ble_grid_ir_quiet)
    n_cells = len(cells)
    lls = vec[float](capacity=n_cells)
    top = -math.inf
    for i in range(n_cells):
        c = cells[i]
        ll = unheard[c]
        a = area[c]
        if area_ir[a] and (never_ir or not seen[a]):
            ll += quiet
        for k in range(n_heard):
            # the residual in half-dB steps, offset to index the table
            j = rows[k] + c
            r = heard2[k] - mean2[j]
            if r < 0:
                r = 0
            elif r > res_top:
                r = res_top
            ll += gain[j] + residual[r]
        lls = append(lls, ll)
        if ll > top:
            top = ll
    total = 0.0
    if modes:
        switch = min(0.5, p.ble_grid_still_switch * dt)
        still = state.still * (1.0 - switch) + (1.0 - state.still) * switch
        ev_still = 0.0
        ev_walk = 0.0
        for i in range(n_cells):
            lik = math.exp(lls[i] - top)
            s_q = still_prior[cells[i]] * lik
            w_q = probs[i] * lik
            ev_still += s_q
            ev_walk += w_q
            q = still * s_q + (1.0 - still) * w_q
            probs[i] = q
            total += q
        evidence = still * ev_still + (1.0 - still) * ev_walk
        state.still = still * ev_still / evidence if evidence > 0.0 else still
        for c in before:
            still_prior[c] = 0.0
    elif heading:
        for i in range(n_cells):
            lik = math.exp(lls[i] - top)
            q = probs[i] * lik
            probs[i] = q
            total += q
            j = 4 * i
            heads[j] *= lik
            heads[j + 1] *= lik
            heads[j + 2] *= lik
            heads[j + 3] *= lik
    else:
        for i in range(n_cells):
            q = probs[i] * math.exp(lls[i] - top)
            probs[i] = q
            total += q
    # normalise, drop the cells without probability, sum per area
    prune = p.ble_grid_prune * total
    kept_cells = vec[i64](capacity=n_cells)
    kept_probs = vec[float](capacity=n_cells)
    kept_heads = vec[float](capacity=4 * n_cells if heading else 0)
    kept_total = 0.0
    for i in range(n_cells):
        q = probs[i]
        if q >= prune:
            kept_cells = append(kept_cells, cells[i])
            kept_probs = append(kept_probs, q)
            kept_total += q
            if heading:
                j = 4 * i
                kept_heads = append(kept_heads, heads[j])
                kept_heads = append(kept_heads, heads[j + 1])
                kept_heads = append(kept_heads, heads[j + 2])
                kept_heads = append(kept_heads, heads[j + 3])
    for a in ir_seen:
        seen[a] = False
    # per area, its probability and that of its core cells, summed in the floor's working
    # vectors and handed over as dicts of the (few) areas with probability
    area_mass = grid.area_mass
    area_core = grid.area_core
    areas = vec[i64](capacity=8)
    core = grid.core
    inv = 1.0 / kept_total
    best: i64 = -1
    best_mass = 0.0
    for i in range(len(kept_cells)):
        q = kept_probs[i] * inv
        kept_probs[i] = q
        c = kept_cells[i]
        a = area[c]
        m = area_mass[a]
        if m == 0.0:
            areas = append(areas, a)
        m += q
        area_mass[a] = m
        if core[c]:
            area_core[a] += q
        if m > best_mass:
            best_mass = m
            best = a
    masses: dict[int, float] = {}
    core_masses: dict[int, float] = {}
    for a in areas:
        masses[a] = area_mass[a]
        area_mass[a] = 0.0
        if area_core[a] > 0.0:
            core_masses[a] = area_core[a]
            area_core[a] = 0.0
    if heading:
        for j in range(len(kept_heads)):
            kept_heads[j] *= inv
    state.cells = kept_cells
    state.probs = kept_probs
    state.heads = kept_heads
    state.masses = masses
    state.core = core_masses
    state.best = best
    state.best_mass = best_mass
    state.t = t


def _walk_symmetric(
    grid: FloorGrid, cells: vec[i64], probs: vec[float], substeps: i64
) -> tuple[vec[i64], vec[float]]:
    """The walking prior without headings, ``substeps`` times: each cell keeps ``stay`` of its
    probability and gives its neighbours their shares. Returns the cells and their probability."""
    scratch = grid.scratch
    nb_start = grid.nb_start
    nb = grid.nb
    nb_w = grid.nb_w
    stay = grid.stay
    for _ in range(substeps):
        touched = vec[i64](capacity=2 * len(cells) + 8)
        for i in range(len(cells)):
            c = cells[i]
            q = probs[i]
            if scratch[c] == 0.0:
                touched = append(touched, c)
            scratch[c] += q * stay[c]
            for j in range(nb_start[c], nb_start[c + 1]):
                n = nb[j]
                if scratch[n] == 0.0:
                    touched = append(touched, n)
                scratch[n] += q * nb_w[j]
        cells = touched
        probs = vec[float](capacity=len(touched) + 32)
        for c in touched:
            probs = append(probs, scratch[c])
            scratch[c] = 0.0
    return cells, probs


def _even_heads(probs: vec[float]) -> vec[float]:
    """Headings for cells that have none yet: half of each cell's probability walking, evenly
    over the four headings."""
    heads = vec[float](capacity=4 * len(probs))
    for i in range(len(probs)):
        share = 0.125 * probs[i]
        for _h in range(4):
            heads = append(heads, share)
    return heads


def _walk_headings(
    grid: FloorGrid,
    cells: vec[i64],
    probs: vec[float],
    heads: vec[float],
    substeps: i64,
    p: LocationParams,
) -> tuple[vec[i64], vec[float], vec[float]]:
    """The motion prior with headings (``ble_grid_heading``), ``substeps`` times: standing
    probability stays, or starts walking; a heading's probability stops, turns, or moves
    ``ble_grid_heading_cells`` along its heading (weighted like the symmetric walk's steps, and
    where nothing lies that way it turns instead). Returns the cells, their total probability
    and their headings."""
    n_all = grid.nx * grid.ny
    scratch = grid.scratch  # standing
    hs = grid.head_scratch  # per heading h, cell c: hs[h * n_all + c]
    dir_nb = grid.dir_nb
    dir_w = grid.dir_w
    go = p.ble_grid_heading_go
    stop = p.ble_grid_heading_stop
    turn = p.ble_grid_heading_turn
    speed = p.ble_grid_heading_cells
    stand_keep = 1.0 - 4.0 * go
    walk_keep = 1.0 - stop - 3.0 * turn
    for _ in range(substeps):
        touched = vec[i64](capacity=2 * len(cells) + 8)
        for i in range(len(cells)):
            c = cells[i]
            j = 4 * i
            h0 = heads[j]
            h1 = heads[j + 1]
            h2 = heads[j + 2]
            h3 = heads[j + 3]
            walking = h0 + h1 + h2 + h3
            standing = probs[i] - walking
            if standing < 0.0:
                standing = 0.0
            if scratch[c] == 0.0 and not _any_head(hs, c, n_all):
                touched = append(touched, c)
            scratch[c] += standing * stand_keep + walking * stop
            # what each heading gets in place before moving: its own kept share, the standing
            # share starting that way, and the other headings' turns
            for h in range(4):
                own = heads[j + h]
                here = own * walk_keep + standing * go + (walking - own) * turn
                n = dir_nb[h * n_all + c]
                moved = here * speed
                if n >= 0:
                    moved *= dir_w[h * n_all + c]
                    if scratch[n] == 0.0 and not _any_head(hs, n, n_all):
                        touched = append(touched, n)
                    hs[h * n_all + n] += moved
                    hs[h * n_all + c] += here - moved
                else:
                    # a wall that way: the step turns to the other headings instead
                    hs[h * n_all + c] += here - moved
                    third = moved / 3.0
                    for k in range(4):
                        if k != h:
                            hs[k * n_all + c] += third
        cells = touched
        probs = vec[float](capacity=len(touched) + 32)
        heads = vec[float](capacity=4 * len(touched) + 128)
        for c in touched:
            s = scratch[c]
            scratch[c] = 0.0
            total = s
            for h in range(4):
                v = hs[h * n_all + c]
                hs[h * n_all + c] = 0.0
                heads = append(heads, v)
                total += v
            probs = append(probs, total)
    return cells, probs, heads


def _any_head(hs: vec[float], c: i64, n_all: i64) -> bool:
    return (
        hs[c] != 0.0 or hs[n_all + c] != 0.0 or hs[2 * n_all + c] != 0.0 or hs[3 * n_all + c] != 0.0
    )


def floor_grids(
    index: AreaIndex,
    facility: Facility,
    devices: Iterable[tuple[str, str, float, float, float]],
    params: LocationParams,
    ir_areas: frozenset[str] = frozenset(),
) -> dict[str, FloorGrid]:
    """A :class:`FloorGrid` for every floor with BLE devices (``(id, floor, x, y, transmit
    power)``): cells over the bounding box of its rooms and corridors."""
    by_floor: dict[str, list[tuple[str, float, float, float]]] = {}
    for device_id, floor, x, y, tx in devices:
        by_floor.setdefault(floor, []).append((device_id, x, y, tx))
    cell = params.ble_grid_cell_m
    grids: dict[str, FloorGrid] = {}
    for floor, floor_devices in by_floor.items():
        boxes = [
            bbox(a.polygon)
            for a in facility.areas.values()
            if a.floor == floor and len(a.polygon) >= 3 and level_of(a.kind) > 0
        ]
        if not boxes:
            continue
        x0 = min(b[0] for b in boxes)
        y0 = min(b[1] for b in boxes)
        nx = max(1, math.ceil((max(b[2] for b in boxes) - x0) / cell))
        ny = max(1, math.ceil((max(b[3] for b in boxes) - y0) / cell))
        area_ids: list[str] = []
        numbers: dict[str, int] = {}
        rooms: list[bool] = []
        area: list[int] = []
        for iy in range(ny):
            for ix in range(nx):
                found = index.area_at(floor, x0 + (ix + 0.5) * cell, y0 + (iy + 0.5) * cell)
                if found is None:
                    area.append(-1)
                    continue
                number = numbers.get(found)
                if number is None:
                    number = numbers[found] = len(area_ids)
                    area_ids.append(found)
                    rooms.append(level_of(facility.areas[found].kind) == 1)
                area.append(number)
        grids[floor] = FloorGrid(
            x0, y0, nx, ny, area, area_ids, rooms, floor_devices, params, ir_areas
        )
    return grids
