import pytest

from duress.channels.text import (
    NameDisplay,
    TextSettings,
    directions,
    html_text,
    long_text,
    pager_text,
    short_text,
    subject_line,
    who,
)
from duress.domain.errors import ConfigError
from duress.domain.notification import EventPhase, Mode, Notice, NoticeLocation
from tests.channels.support import duress_notice


def test_directions_read_coarse_to_fine_with_freshness() -> None:
    loc = NoticeLocation(floor="4", unit="4B", room="12", bay="A", age_s=3)
    assert directions(loc) == "Floor 4, unit 4B, room 12, bay A — last seen 3 s ago"
    assert directions(NoticeLocation()) == "Location unknown"
    assert directions(NoticeLocation(floor="2", precision="floor", age_s=300)) == (
        "Floor 2 (nearest floor) — last seen 5 min ago"
    )


def test_pager_text_has_the_essentials_in_ascii_within_160() -> None:
    text = pager_text(duress_notice())
    assert text == (
        "DURESS SECURITY. Floor 4, unit 4B, room 12, bay A - last seen 3 s ago. "
        "Jane Doe (RN). Reply Accept/Decline"
    )
    assert len(text) <= 160
    assert text.isascii()


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        (NameDisplay.FULL, "Jane Doe (RN)"),
        (NameDisplay.INITIALS, "J.D. (RN)"),
        (NameDisplay.ROLE, "RN"),
    ],
)
def test_staff_name_display_is_configurable(display: NameDisplay, expected: str) -> None:
    assert who(duress_notice(), display) == expected
    assert expected in pager_text(duress_notice(), TextSettings(name_display=display))


def test_role_only_never_shows_the_name_anywhere() -> None:
    settings = TextSettings(name_display=NameDisplay.ROLE)
    notice = duress_notice()
    for text in (
        pager_text(notice, settings),
        long_text(notice, settings),
        html_text(notice, settings),
    ):
        assert "Jane" not in text
        assert "Doe" not in text


@pytest.mark.parametrize(("mode", "prefix"), [(Mode.DRILL, "DRILL: "), (Mode.TEST, "TEST: ")])
def test_drills_and_tests_are_marked_first(mode: Mode, prefix: str) -> None:
    notice = duress_notice(mode=mode)
    assert pager_text(notice).startswith(prefix)
    assert subject_line(notice).startswith(prefix)
    assert f"This is a {mode.value}" in long_text(notice)


def test_the_old_drill_flag_still_counts() -> None:
    notice = Notice("k", "a", "r", "sms", "+1", "Duress", "Floor 4", drill=True)
    assert short_text(notice) == "DRILL: Duress: Floor 4"


def test_phases_read_plainly() -> None:
    moved = duress_notice(phase=EventPhase.UPDATE, update_reason="location changed")
    assert pager_text(moved).startswith("DURESS SECURITY UPDATE (location changed). Floor 4")
    ended = duress_notice(phase=EventPhase.END)
    assert pager_text(ended).startswith("DURESS SECURITY ENDED")
    assert "Reply" not in pager_text(ended)


def test_long_content_drops_least_useful_parts_then_cuts_keeping_the_location() -> None:
    notice = duress_notice()
    text = short_text(notice, limit=80)
    assert text == "DURESS SECURITY. Floor 4, unit 4B, room 12, bay A - last seen 3 s ago"
    tiny = short_text(notice, limit=40)
    assert len(tiny) == 40
    assert tiny.endswith("...")


def test_html_escapes_and_links_the_reply_url() -> None:
    notice = duress_notice(reply_url="https://duress.example/a/1?x=<y>")
    html = html_text(notice)
    assert "&lt;y&gt;" in html
    assert "<y>" not in html


def test_settings_from_mapping_name_the_key_and_the_fix() -> None:
    assert (
        TextSettings.from_mapping({"name_display": "initials"}).name_display is NameDisplay.INITIALS
    )
    with pytest.raises(ConfigError) as err:
        TextSettings.from_mapping({"name_display": "nick", "pager_limit": 10, "colour": "red"})
    text = str(err.value)
    assert "channels.text.name_display: 'nick' is not one of full, initials, role" in text
    assert "channels.text.pager_limit: 10" in text
    assert "channels.text.colour: unknown key" in text
