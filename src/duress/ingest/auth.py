"""Gateway authentication: Mosquitto accounts and ACLs, and the optional HMAC payload signature.

Each gateway of the site gets its own MQTT account (``<site>.<gateway>``) that may publish only under
``<prefix>/<site>/gw/<gateway>/#`` and read only its feedback topic
``<prefix>/<site>/gw/<gateway>/feedback/#``; the server's account (``duress-<site>``) reads every
topic of the site (and the wild formats' topics). ``duress mqtt-config`` writes:

- ``passwd``: the Mosquitto password file, hashed as ``mosquitto_passwd`` does (``$7$``:
  PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt, base64), see :func:`mosquitto_hash`;
- ``acl``: the topic ACLs, see :func:`acl_file`;
- ``mosquitto.conf``: a configuration snippet that uses them, see :func:`mosquitto_conf`;
- ``credentials.yaml`` (mode 0600): the plain passwords and HMAC keys, for provisioning gateways
  and for the server (``ingest.native.secrets``), see :func:`dump_credentials`.

Signature: a gateway may sign each payload with its key, HMAC-SHA256 over ``topic + "\\n" +
payload`` (so a signed payload cannot be replayed onto another topic), sent as lower-case hex in
the MQTT v5 user property ``duress-hmac`` (the payload itself is left untouched, so the decoders and
the JSON Schema stay the same). See ``docs/gateways.md``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from duress.domain.errors import ConfigError

SIGNATURE_PROPERTY = "duress-hmac"
"""The MQTT v5 user property that carries a payload's signature."""
HASH_ITERATIONS = 101
"""What mosquitto_passwd 2.0 uses for ``$7$`` hashes."""
SALT_BYTES = 12


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """``$7$101$<salt>$<hash>``: a password hashed for a Mosquitto 2 password file."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, HASH_ITERATIONS)
    return f"$7${HASH_ITERATIONS}${_b64(salt)}${_b64(digest)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sign(key: bytes, topic: str, payload: bytes) -> str:
    """The signature of ``payload`` published on ``topic``: lower-case hex HMAC-SHA256."""
    return hmac.new(key, topic.encode() + b"\n" + payload, hashlib.sha256).hexdigest()


def verify(key: bytes, topic: str, payload: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(key, topic, payload), signature.strip().lower())


def signature_in(properties: object) -> str | None:
    """The signature a message carries in its MQTT v5 user properties (paho's ``Properties``)."""
    for key, value in getattr(properties, "UserProperty", None) or ():
        if key == SIGNATURE_PROPERTY:
            return str(value)
    return None


def gateway_root(prefix: str, site: str, gateway: str) -> str:
    """``<prefix>/<site>/gw/<gateway>``: every topic of one gateway is under it."""
    return f"{prefix}/{site}/gw/{gateway}"


@dataclass(frozen=True, slots=True)
class GatewayAccount:
    gateway: str
    username: str
    password: str
    hmac_key: bytes


@dataclass(frozen=True, slots=True)
class Credentials:
    """Every account of one site: the server's and one per gateway."""

    site: str
    prefix: str
    server_username: str
    server_password: str
    gateways: Mapping[str, GatewayAccount] = field(default_factory=dict)

    def keys(self) -> dict[str, bytes]:
        """Gateway id -> HMAC key."""
        return {g.gateway: g.hmac_key for g in self.gateways.values()}


def generate_credentials(
    site: str, prefix: str, gateways: Iterable[str], previous: Credentials | None = None
) -> Credentials:
    """Accounts for ``gateways``; those already in ``previous`` keep their password and key."""
    old = previous.gateways if previous is not None and previous.site == site else {}
    accounts = {}
    for gateway in sorted(gateways):
        kept = old.get(gateway)
        accounts[gateway] = kept or GatewayAccount(
            gateway=gateway,
            username=f"{site}.{gateway}",
            password=secrets.token_urlsafe(24),
            hmac_key=secrets.token_bytes(32),
        )
    server_password = (
        previous.server_password
        if previous is not None and previous.site == site
        else secrets.token_urlsafe(24)
    )
    return Credentials(site, prefix, f"duress-{site}", server_password, accounts)


def password_file(credentials: Credentials) -> str:
    lines = [f"{credentials.server_username}:{mosquitto_hash(credentials.server_password)}"]
    lines += [f"{g.username}:{mosquitto_hash(g.password)}" for g in credentials.gateways.values()]
    return "\n".join(lines) + "\n"


def acl_file(
    credentials: Credentials, extra_read: Iterable[str] = (), extra_write: Iterable[str] = ()
) -> str:
    """Mosquitto ACLs: each gateway writes only its own topics; the server reads the site's.

    ``extra_write`` are topics the server may publish besides the feedback topics (the daily
    synthetic test's press on its gateway's ``buttons`` topic)."""
    site_root = f"{credentials.prefix}/{credentials.site}"
    lines = [
        f"# Duress topic ACLs for site {credentials.site}. Generated by `duress mqtt-config`.",
        "",
        f"user {credentials.server_username}",
        f"topic read {site_root}/#",
        f"topic write {site_root}/gw/+/feedback/#",
    ]
    lines += [f"topic read {t}" for t in extra_read]
    lines += [f"topic write {t}" for t in extra_write]
    for account in credentials.gateways.values():
        root = gateway_root(credentials.prefix, credentials.site, account.gateway)
        lines += [
            "",
            f"user {account.username}",
            f"topic write {root}/#",
            f"topic read {root}/feedback/#",
        ]
    return "\n".join(lines) + "\n"


def mosquitto_conf(
    folder: Path, *, port: int = 1883, bind: str | None = None, run_as: str | None = None
) -> str:
    """A Mosquitto 2 configuration using the generated password and ACL files in ``folder``.

    ``run_as``: the account Mosquitto runs as (``user`` option); by default it drops to
    ``mosquitto``, which must be able to read ``passwd`` and ``acl`` (``chgrp mosquitto``).
    """
    listener = f"listener {port}" + (f" {bind}" if bind else "")
    return "\n".join(
        [
            *([f"user {run_as}"] if run_as else []),
            "# Duress: gateways authenticate with their own accounts. Generated by",
            "# `duress mqtt-config`; include it from mosquitto.conf or run mosquitto -c on it.",
            "per_listener_settings false",
            listener,
            "allow_anonymous false",
            f"password_file {folder.resolve() / 'passwd'}",
            f"acl_file {folder.resolve() / 'acl'}",
            "# Presses published while the server is away wait in its persistent session:",
            "persistence true",
            f"persistence_location {folder.resolve()}/",
            *BROKER_TUNING,
            "",
        ]
    )


BROKER_TUNING = (
    "persistent_client_expiration 14d",
    "max_queued_messages 10000",
    "# Send small messages (a press, a badge signal) at once instead of holding them until the",
    "# previous packet is acknowledged (Nagle): up to 40 ms saved for a press that follows a burst",
    "# of sightings, and on the badge feedback path.",
    "set_tcp_nodelay true",
)
"""The broker settings Duress relies on, whatever the authentication (the benchmarks use them too)."""


def dump_credentials(credentials: Credentials, *, broker: str = "mqtt://127.0.0.1:1883") -> str:
    """The credentials file (YAML). Keep it secret: it holds plain passwords and HMAC keys."""
    host = broker.split("://", 1)[-1]
    scheme = broker.split("://", 1)[0] if "://" in broker else "mqtt"
    document = {
        "site": credentials.site,
        "prefix": credentials.prefix,
        "broker": broker,
        "server": {
            "username": credentials.server_username,
            "password": credentials.server_password,
            "mqtt_url": (
                f"{scheme}://{credentials.server_username}:{credentials.server_password}@{host}"
            ),
        },
        "gateways": {
            g.gateway: {
                "username": g.username,
                "password": g.password,
                "hmac_key": g.hmac_key.hex(),
                "client_id": g.username,
                "topics": gateway_root(credentials.prefix, credentials.site, g.gateway) + "/#",
                "feedback": gateway_root(credentials.prefix, credentials.site, g.gateway)
                + "/feedback",
            }
            for g in credentials.gateways.values()
        },
    }
    head = (
        f"# Duress MQTT credentials for site {credentials.site}: plain passwords and HMAC keys.\n"
        "# Keep this file secret (mode 0600). Generated by `duress mqtt-config`.\n"
    )
    return head + yaml.safe_dump(document, sort_keys=False)


def load_credentials(path: Path) -> Credentials:
    """Read a credentials file written by :func:`dump_credentials`."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([f"{path}: cannot read the MQTT credentials file: {error}"]) from None
    try:
        gateways = {
            str(gid): GatewayAccount(
                gateway=str(gid),
                username=str(entry["username"]),
                password=str(entry["password"]),
                hmac_key=bytes.fromhex(str(entry["hmac_key"])),
            )
            for gid, entry in (document.get("gateways") or {}).items()
        }
        return Credentials(
            site=str(document["site"]),
            prefix=str(document["prefix"]),
            server_username=str(document["server"]["username"]),
            server_password=str(document["server"]["password"]),
            gateways=gateways,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(
            [
                f"{path}: not a Duress MQTT credentials file ({error!r} missing or bad); "
                "regenerate it with `duress mqtt-config`"
            ]
        ) from None
