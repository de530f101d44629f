"""LocationParams: a frozen value that survives the trip to the location process (pickled with
the site, ``duress.service.location_process``)."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from duress.domain.location_params import LocationParams


def test_pickles_to_an_equal_value_with_every_field() -> None:
    params = LocationParams(ir_hold_s=7.5, ble_grid=False, ble_top_k=3)
    restored = pickle.loads(pickle.dumps(params, protocol=pickle.HIGHEST_PROTOCOL))
    assert restored == params
    assert type(restored) is LocationParams
    assert [getattr(restored, f.name) for f in dataclasses.fields(restored)] == [
        getattr(params, f.name) for f in dataclasses.fields(params)
    ]


def test_frozen_copyable_and_replaceable() -> None:
    params = LocationParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.ir_hold_s = 1.0  # type: ignore[misc]  # the point of the test: it is frozen
    assert copy.deepcopy(params) == params
    changed = dataclasses.replace(params, ble_update_s=0.5)
    assert changed.ble_update_s == 0.5
    assert params.ble_update_s == LocationParams().ble_update_s
    assert hash(changed) != hash(params) or changed != params


def test_an_unknown_parameter_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="ble_no_such_thing"):
        LocationParams(ble_no_such_thing=1.0)  # type: ignore[call-arg]  # refused on purpose
