from datetime import datetime

from tests.sites import routed_site

from duress.domain.routing_preview import preview

NIGHT = datetime(2026, 3, 1, 3, 0)


def test_a_preview_lists_tiers_with_their_times() -> None:
    result = preview(routed_site(), unit="icu", area="icu-1", kind="assist", at=NIGHT)
    assert result.policy is not None
    assert [t.at_s for t in result.tiers] == [0.0, 30.0, 90.0]
    assert [r.id for r in result.tiers[0].recipients] == ["n-2"]
    assert result.tiers[0].pending == ("1 nearest responder within 50 m",)


def test_a_tier_that_reaches_nobody_is_flagged() -> None:
    result = preview(routed_site(), unit="ed", area=None, kind="assist", at=NIGHT)
    assert result.tiers[0].skipped
    assert result.tiers[1].at_s == 0.0  # the skipped tier costs no time
    assert "tier 1 reaches nobody: it would be skipped at once" in result.warnings


def test_no_policy_is_a_warning() -> None:
    result = preview(routed_site(policies=False), unit="icu", area=None, kind="assist", at=NIGHT)
    assert result.policy is None
    assert "marked undelivered" in result.warnings[0]
