"""``duress mqtt-config``: Mosquitto accounts, ACLs and a config snippet for a site's gateways."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from duress.config.loader import load_site
from duress.config.settings import load_settings
from duress.domain.devices import DeviceKind
from duress.domain.errors import ConfigError
from duress.ingest import auth
from duress.ingest.mqtt.topics import TopicMap

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("mqtt-config")(mqtt_config)


def mqtt_config(
    site: Annotated[Path, typer.Option("--site", help="The site configuration (file or folder).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files to.")],
    prefix: Annotated[
        str | None, typer.Option(help="Topic prefix; default: the mqtt_topic_prefix setting.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the listener in mosquitto.conf.")] = 1883,
    bind: Annotated[
        str | None, typer.Option(help="Address the listener binds to (default: all).")
    ] = None,
    run_as: Annotated[
        str | None,
        typer.Option(help="Account mosquitto runs as (`user` option); default: mosquitto's own."),
    ] = None,
    broker: Annotated[
        str, typer.Option(help="Broker URL written into the credentials file.")
    ] = "mqtt://127.0.0.1:1883",
) -> None:
    """Write passwd, acl, mosquitto.conf and credentials.yaml (0600) for the site's gateways.

    Rerunning it keeps the passwords and keys of gateways already in credentials.yaml.
    """
    try:
        loaded = load_site(site)
        if prefix is None:
            prefix = load_settings(site, os.environ).mqtt_topic_prefix
        previous_path = out / "credentials.yaml"
        previous = auth.load_credentials(previous_path) if previous_path.exists() else None
    except ConfigError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    gateways = [d.id for d in loaded.devices.values() if d.kind is DeviceKind.GATEWAY]
    credentials = auth.generate_credentials(loaded.id, prefix, gateways, previous)
    wild = TopicMap(prefix, loaded.id, loaded.ingest).wild_topics()
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "passwd", auth.password_file(credentials), 0o640)
    synthetic = loaded.supervision.synthetic
    extra_write = (
        [f"{auth.gateway_root(prefix, loaded.id, synthetic.gateway)}/buttons"] if synthetic else []
    )
    _write(out / "acl", auth.acl_file(credentials, wild, extra_write), 0o640)
    _write(
        out / "mosquitto.conf", auth.mosquitto_conf(out, port=port, bind=bind, run_as=run_as), 0o644
    )
    _write(out / "credentials.yaml", auth.dump_credentials(credentials, broker=broker), 0o600)
    console.print(
        f"wrote {out}/passwd, acl, mosquitto.conf and credentials.yaml (secret, 0600) for "
        f"{len(gateways)} gateways of {loaded.id}\n"
        f"  the server connects as {credentials.server_username}: set DURESS_MQTT_URL to the "
        "server.mqtt_url in credentials.yaml"
    )


def _write(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` created with ``mode`` (a secret is never readable, even briefly)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.chmod(temporary, mode)
    temporary.replace(path)
