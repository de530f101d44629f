from duress.domain.activation import DEFAULT_RULES, Activation, ActivationRules, Pattern


def test_default_patterns_ignore_single_presses() -> None:
    assert DEFAULT_RULES.classify(1, 0.0) is None
    assert DEFAULT_RULES.classify(2, 0.0) is None
    assist = DEFAULT_RULES.classify(3, 0.0)
    assert assist is not None
    assert (assist.kind, assist.priority) == ("assist", 2)
    security = DEFAULT_RULES.classify(8, 0.0)
    assert security is not None
    assert security.kind == "security"
    hold = DEFAULT_RULES.classify(1, 2.5)
    assert hold is not None
    assert hold.kind == "security"


def test_the_most_urgent_matching_pattern_wins() -> None:
    rules = ActivationRules(
        (Pattern("assist", 2, min_presses=2), Pattern("lockdown", 1, min_presses=8))
    )
    matched = rules.classify(9, 0.0)
    assert matched is not None
    assert matched.kind == "lockdown"


def test_units_override_the_default() -> None:
    bh = ActivationRules((Pattern("security", 1, min_presses=1),), cancel_window_s=5.0)
    activation = Activation(units={"bh": bh})
    assert activation.rules_for("bh") is bh
    assert activation.rules_for("icu") is DEFAULT_RULES
    assert activation.kinds() == {"assist", "security", "test"}
