"""The ``duress`` command line: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from duress.cli import calibrate, location, mqtt, routes, server, site, users

app = typer.Typer(
    name="duress",
    help="Duress: staff-duress platform for hospitals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(site.config_app, name="config")
app.add_typer(routes.routes_app, name="routes")
server.register(app)
users.register(app)
mqtt.register(app)
app.command()(location.simulate)
app.command()(location.locate)
app.command()(location.evaluate)
app.command()(calibrate.calibrate)


def main() -> None:
    app()
