from duress.domain.precision import Precision


def test_finer_precision_meets_a_coarser_requirement() -> None:
    assert Precision.BED.meets(Precision.ROOM)
    assert Precision.ROOM.meets(Precision.ROOM)
    assert not Precision.ZONE.meets(Precision.ROOM)
    assert not Precision.UNKNOWN.meets(Precision.FLOOR)


def test_ranks_run_from_bed_to_unknown() -> None:
    assert [p.rank for p in Precision] == [0, 1, 2, 3, 4]
