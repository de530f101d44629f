import pytest
from tests.sites import small_site

from duress.domain.facility import centroid
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


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        (((0, 0), (10, 0), (10, 10), (0, 10)), (5.0, 5.0)),
        (((0, 0), (4, 0), (4, 2), (2, 2), (2, 6), (0, 6)), (1.5, 2.5)),  # an L: two 8 m² parts
        (((1, 1), (1, 1), (1, 1)), (1.0, 1.0)),  # degenerate
    ],
)
def test_the_centroid_of_an_area(polygon, expected) -> None:
    x, y = centroid(polygon)
    assert (round(x, 6), round(y, 6)) == expected
