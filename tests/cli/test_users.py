"""``duress users`` and ``duress tokens`` against a SQLite store, and the first-run admin."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from typer.testing import CliRunner

from duress.cli import app
from duress.store import open_store
from duress.store.accounts import open_accounts

runner = CliRunner()


def run(db: str, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--db", db, "--config", "/nonexistent.yaml"], input=stdin)


def test_users_add_list_disable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'duress.db'}"
    added = run(db, "users", "add", "ana", "--role", "responder", "--staff", "n-1")
    assert added.exit_code == 0, added.output
    assert re.search(r"one-time password .*: \S{12,}", added.output)
    piped = run(
        db,
        "users",
        "add",
        "icu-mgr",
        "--role",
        "unit_manager",
        "--unit",
        "icu",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert piped.exit_code == 0, piped.output
    assert "one-time" not in piped.output
    again = run(db, "users", "add", "ana", "--role", "admin")
    assert again.exit_code == 1
    assert "already exists" in again.output
    listed = run(db, "users", "list")
    assert "ana" in listed.output
    assert "icu-mgr" in listed.output
    assert "icu" in listed.output
    assert run(db, "users", "disable", "ana").exit_code == 0
    assert "disabled" in run(db, "users", "list").output
    missing = run(db, "users", "disable", "nobody")
    assert missing.exit_code == 1
    reset = run(db, "users", "reset-password", "icu-mgr")
    assert reset.exit_code == 0
    assert "one-time password" in reset.output
    store = open_store(db)
    types = [e.type for e in store.read()]
    store.close()
    assert types.count("account.created") == 2
    assert "account.disabled" in types
    assert "account.password_changed" in types


def test_tokens_issue_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'duress.db'}"
    issued = run(db, "tokens", "issue", "gw-4", "--scope", "ingest")
    assert issued.exit_code == 0, issued.output
    token_id = re.search(r"issued (t-[0-9a-f]+)", issued.output)[1]  # type: ignore[index]
    secret = re.search(r"(duress_\S+)", issued.output)[1]  # type: ignore[index]
    listed = run(db, "tokens", "list")
    assert token_id in listed.output
    assert "active" in listed.output
    assert secret not in listed.output
    assert run(db, "tokens", "revoke", token_id).exit_code == 0
    assert "revoked" in run(db, "tokens", "list").output
    bad = run(db, "tokens", "issue", "x", "--scope", "write")
    assert bad.exit_code == 1
    assert "unknown scope" in bad.output
    nobody = run(db, "tokens", "issue", "x", "--scope", "act", "--user", "ghost")
    assert nobody.exit_code == 1


def test_first_run_creates_one_admin(tmp_path: Path) -> None:
    from duress.cli.users import _direct_accounts
    from duress.config.settings import Settings

    store = open_store(f"sqlite:///{tmp_path / 'duress.db'}")
    try:
        accounts = _direct_accounts(store, Settings())
        assert asyncio.run(accounts.ensure_admin()) is not None
        assert asyncio.run(accounts.ensure_admin()) is None
        accounts.close()
    finally:
        store.close()
    reopened = open_accounts(f"sqlite:///{tmp_path / 'duress.db'}")
    try:
        [admin] = reopened.list_users()
    finally:
        reopened.close()
    assert admin.name == "admin"
    assert admin.must_change_password
