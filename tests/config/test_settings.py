"""Settings: defaults, the server section, DURESS_* overrides, errors naming key, value and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from duress.config.settings import (
    SETTINGS_REFERENCE,
    Settings,
    build_settings,
    load_settings,
    unknown_env,
)
from duress.domain.errors import ConfigError


def test_defaults() -> None:
    settings = build_settings({}, {})
    assert settings == Settings()
    assert settings.store_url == "sqlite:///var/duress.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.log_level == "info"


def test_reference_defaults_match_the_dataclass() -> None:
    defaults = Settings()
    for info in SETTINGS_REFERENCE:
        assert getattr(defaults, info.key) == info.default, info.key
        assert info.env == "DURESS_" + info.key.upper()


def test_environment_overrides_the_server_section() -> None:
    settings = build_settings(
        {"port": 9000, "host": "0.0.0.0", "log_level": "DEBUG"},
        {"DURESS_PORT": "9100", "DURESS_STORE_URL": "postgresql://duress@db:5432/duress"},
    )
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"
    assert settings.log_level == "debug"
    assert settings.store_url == "postgresql://duress@db:5432/duress"


def test_every_bad_value_is_reported_with_where_it_came_from() -> None:
    with pytest.raises(ConfigError) as info:
        build_settings(
            {"port": "eighty", "mqtt_url": "tcp://broker", "hots": "x"},
            {"DURESS_LOG_LEVEL": "verbose", "DURESS_STORE_URL": "mysql://x"},
            origins={"port": "site.yaml:40: server.port"},
        )
    joined = "\n".join(info.value.problems)
    assert len(info.value.problems) == 5
    assert (
        "site.yaml:40: server.port: 'eighty' is not a port number; write a whole number" in joined
    )
    assert (
        "server.mqtt_url: 'tcp://broker' is not an MQTT broker URL; write mqtt://host:1883"
        in joined
    )
    assert "server.hots: unknown setting 'hots' (did you mean 'host'?)" in joined
    assert "DURESS_LOG_LEVEL: 'verbose' is not one of debug, info, warning, error" in joined
    assert "DURESS_STORE_URL: 'mysql://x' is not a store URL" in joined


def test_load_settings_reads_the_server_section_with_lines(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: {id: s, name: S, timezone: UTC}\nserver:\n  port: 8081\n  host: 0.0.0.0\n"
    )
    settings = load_settings(site, {"DURESS_HOST": "127.0.0.2"})
    assert settings.site == site
    assert (settings.host, settings.port) == ("127.0.0.2", 8081)
    site.write_text("server:\n  port: 70000\n")
    with pytest.raises(ConfigError) as info:
        load_settings(site, {})
    assert info.value.problems == [
        f"{site}:2: server.port: 70000 is out of range; write a port from 1 to 65535"
    ]


def test_site_path_from_the_environment_when_not_given(tmp_path: Path) -> None:
    settings = load_settings(None, {"DURESS_SITE": str(tmp_path / "absent.yaml")})
    assert settings.site == tmp_path / "absent.yaml"
    assert settings.port == 8000


def test_unknown_environment_variables_are_warnings() -> None:
    warnings = unknown_env(
        {"DURESS_PROT": "1", "DURESS_PORT": "2", "DURESS_PURE_PYTHON": "1", "HOME": "/root"}
    )
    assert warnings == [
        "DURESS_PROT: not a Duress setting (did you mean 'DURESS_PORT'?); it is ignored"
    ]


@given(st.integers(min_value=1, max_value=65535))
def test_any_valid_port_from_the_environment(port: int) -> None:
    assert build_settings({}, {"DURESS_PORT": f" {port} "}).port == port


@given(st.integers().filter(lambda p: not 1 <= p <= 65535))
def test_any_invalid_port_is_rejected(port: int) -> None:
    with pytest.raises(ConfigError, match="DURESS_PORT"):
        build_settings({}, {"DURESS_PORT": str(port)})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
