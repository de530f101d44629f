from __future__ import annotations

import base64
from pathlib import Path

import pytest

from duress.domain.errors import ConfigError
from duress.ingest import auth


def test_the_hash_is_the_one_mosquitto_passwd_makes() -> None:
    # `mosquitto_passwd -b pw alice secret` (Mosquitto 2.0.11) wrote this line:
    line = (
        "$7$101$HStTdZSt3WoiOMB9$oJCKo4cvX2o37IK+MpjbY4ygvK5s/cVFr7S7nqYScEgSyel4Rmq/8kq3YclhEbPO"
        "vNOk7Ry2rHH2E6q7QZdLWA=="
    )
    salt = base64.b64decode(line.split("$")[3])
    assert auth.mosquitto_hash("secret", salt=salt) == line
    assert auth.mosquitto_hash("secret") != auth.mosquitto_hash("secret")  # a fresh salt each time


def test_a_signature_binds_the_payload_to_its_topic() -> None:
    key = b"k" * 32
    signature = auth.sign(key, "a/b", b"{}")
    assert auth.verify(key, "a/b", b"{}", signature)
    assert auth.verify(key, "a/b", b"{}", signature.upper() + " ")
    assert not auth.verify(key, "a/c", b"{}", signature)
    assert not auth.verify(key, "a/b", b"{ }", signature)
    assert not auth.verify(b"x" * 32, "a/b", b"{}", signature)


def test_credentials_round_trip_and_keep_what_exists(tmp_path: Path) -> None:
    first = auth.generate_credentials("s", "duress", ["gw-1"])
    path = tmp_path / "credentials.yaml"
    path.write_text(auth.dump_credentials(first))
    loaded = auth.load_credentials(path)
    assert loaded == first
    again = auth.generate_credentials("s", "duress", ["gw-1", "gw-2"], loaded)
    assert again.gateways["gw-1"] == first.gateways["gw-1"]
    assert again.server_password == first.server_password
    assert set(again.keys()) == {"gw-1", "gw-2"}


def test_acl_lets_each_gateway_write_only_its_own_topics() -> None:
    text = auth.acl_file(auth.generate_credentials("s", "p", ["gw-1"]), ["espresense/devices/#"])
    assert "user s.gw-1\ntopic write p/s/gw/gw-1/#\ntopic read p/s/gw/gw-1/feedback/#" in text
    assert "user duress-s\ntopic read p/s/#" in text
    assert "topic read espresense/devices/#" in text


def test_the_server_may_publish_the_synthetic_press_and_nothing_else_of_a_gateway() -> None:
    credentials = auth.generate_credentials("s", "p", ["gw-1"])
    text = auth.acl_file(credentials, extra_write=["p/s/gw/gw-1/buttons"])
    server = text.split("\n\n")[1]
    assert "topic write p/s/gw/gw-1/buttons" in server
    assert "topic write p/s/gw/+/feedback/#" in server
    assert "topic write p/s/gw/gw-1/sightings" not in text


def test_a_bad_credentials_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("site: s\n")
    with pytest.raises(ConfigError, match="not a Duress MQTT credentials file"):
        auth.load_credentials(path)


def test_the_broker_configuration_keeps_presses_and_sends_small_messages_at_once(
    tmp_path: Path,
) -> None:
    conf = auth.mosquitto_conf(tmp_path, port=18830, bind="127.0.0.1")
    assert "listener 18830 127.0.0.1" in conf
    assert "allow_anonymous false" in conf
    assert "persistence true" in conf
    assert "set_tcp_nodelay true" in conf
