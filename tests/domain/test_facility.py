from tests.sites import small_site

from duress.domain.precision import Precision


def test_a_bay_inherits_the_precision_of_its_parents_unit() -> None:
    facility = small_site().facility
    assert facility.required_precision("icu-1") is Precision.ROOM
    assert facility.required_precision("ed-bay-1") is Precision.ZONE
    assert facility.unit_of("ed-bay-1") == "ed"


def test_children_and_areas_on_a_floor() -> None:
    facility = small_site().facility
    assert [a.id for a in facility.children("ed-open")] == ["ed-bay-1"]
    assert len(list(facility.areas_on("f1"))) == 5
