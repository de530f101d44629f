"""open_store: the URL picks the backend; bad URLs fail with a message naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from duress.domain.errors import ConfigError, StoreUnavailable
from duress.store import open_store
from duress.store.memory import MemoryStore
from duress.store.sqlite import SqliteStore
from duress.store.urls import mask


def test_sqlite_absolute_path_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "events.db"
    store = open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqliteStore)
        assert store.url == f"sqlite:////{str(path).lstrip('/')}"
        assert path.is_file()
    finally:
        store.close()


def test_sqlite_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///var/events.db")
    try:
        assert store.url == "sqlite:///var/events.db"
        assert (tmp_path / "var" / "events.db").is_file()
    finally:
        store.close()


@pytest.mark.parametrize("url", ["sqlite://:memory:", "memory://"])
def test_memory_stores_need_allow_memory(url: str) -> None:
    with pytest.raises(ConfigError, match="loses every event"):
        open_store(url)
    store = open_store(url, allow_memory=True)
    try:
        assert isinstance(store, SqliteStore | MemoryStore)
        assert store.url == url
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/duress", "unknown kind of store"),
        ("events.db", "unknown kind of store"),
        ("", "unknown kind of store"),
        ("sqlite://host/events.db", "sqlite:///relative/path.db"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///events.db?mode=ro", "sqlite:///relative/path.db"),
        ("sqlite:///:memory:", "sqlite://:memory:"),
    ],
)
def test_bad_urls_name_the_accepted_forms(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        open_store(url)
    assert repr(url) in str(caught.value) or url in str(caught.value)


def test_unknown_scheme_error_lists_the_accepted_forms_and_masks_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_store("mysql://root:hunter2@localhost/duress")
    text = str(caught.value)
    assert "hunter2" not in text
    assert "mysql://root:***@localhost/duress" in text
    assert "sqlite:///relative/path.db" in text
    assert "postgresql://user@host:port/database" in text


def test_a_dead_postgresql_server_is_unavailable_and_the_password_stays_secret() -> None:
    url = "postgresql://duress:hunter2@127.0.0.1:1/x?connect_timeout=2"
    with pytest.raises(
        StoreUnavailable, match=r"PostgreSQL at 127\.0\.0\.1:1/x cannot be reached"
    ) as e:
        open_store(url)
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (
            "postgresql://h/db?password=secret&sslmode=require",
            "postgresql://h/db?password=***&sslmode=require",
        ),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("sqlite:////srv/duress/events.db", "sqlite:////srv/duress/events.db"),
    ],
)
def test_mask(url: str, masked: str) -> None:
    assert mask(url) == masked
