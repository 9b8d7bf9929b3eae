"""Notice channels' credentials are encrypted at rest, read back in clear, and re-keyed."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.config import get_settings
from gis.db.models import NoticeChannel
from gis.db.secrets import PREFIX, SecretKeyError, current_keys
from gis.notices.directory import add_channel, rekey_channels

SECRET = "SEC-webhook-signing-secret-0001"
ROBOT = "https://oapi.dingtalk.example/robot/send?access_token=tok-robot-0002"
K1, K2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    def use(value: str | None, home=None) -> None:  # type: ignore[no-untyped-def]
        if value is None:
            monkeypatch.delenv("LOOKBACK_SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("LOOKBACK_SECRET_KEY", value)
        if home is not None:
            monkeypatch.setenv("LOOKBACK_HOME", str(home))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def _raw(engine: Engine) -> dict:
    with engine.connect() as conn:
        return conn.execute(text("SELECT config FROM notice_channels")).scalar_one()


def _read(engine: Engine) -> dict:
    with Session(engine) as s:
        return dict(s.query(NoticeChannel).one().config)


def test_secrets_are_stored_encrypted_and_read_in_clear(db: Engine, keys) -> None:  # type: ignore[no-untyped-def]
    keys(K1)
    with Session(db) as s, s.begin():
        add_channel(s, name="hook", kind="webhook", config={"url": ROBOT, "secret": SECRET})
    raw = _raw(db)
    assert raw["secret"].startswith(PREFIX) and raw["url"].startswith(PREFIX)
    dumped = json.dumps(raw)
    assert SECRET not in dumped and "tok-robot-0002" not in dumped  # nor in a database dump
    assert _read(db) == {"url": ROBOT, "secret": SECRET}


def test_rotation_keeps_reading_and_rekey_moves_to_the_new_key(db: Engine, keys) -> None:  # type: ignore[no-untyped-def]
    keys(K1)
    with Session(db) as s, s.begin():
        add_channel(s, name="hook", kind="webhook", config={"url": ROBOT, "secret": SECRET})
    keys(f"{K2},{K1}")  # the new key first, the old one still decrypts
    assert _read(db)["secret"] == SECRET
    with Session(db) as s, s.begin():
        assert rekey_channels(s) == 1
    keys(K2)  # the old key dropped: still readable
    assert _read(db)["secret"] == SECRET
    keys(K1)  # only the old key: a clear refusal, not garbage
    with pytest.raises(SecretKeyError, match="cannot decrypt"):
        _read(db)


def test_values_stored_in_clear_before_are_read_and_encrypted_by_rekey(db: Engine, keys) -> None:  # type: ignore[no-untyped-def]
    keys(K1)
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notice_channels (name, kind, config) VALUES ('old', 'webhook',"
                " CAST(:c AS jsonb))"
            ),
            {"c": json.dumps({"url": ROBOT, "secret": SECRET})},
        )
    assert _read(db)["secret"] == SECRET
    from server.cli import notices as cli_notices

    cli_notices_engine = cli_notices._engine
    try:
        cli_notices._engine = lambda: db  # type: ignore[assignment]
        result = CliRunner().invoke(cli_notices.notices_app, ["rekey"])
    finally:
        cli_notices._engine = cli_notices_engine  # type: ignore[assignment]
    assert result.exit_code == 0, result.output
    assert "1 channel" in result.output
    assert _raw(db)["secret"].startswith(PREFIX)


def test_the_key_file_is_made_once_and_private(tmp_path, keys) -> None:  # type: ignore[no-untyped-def]
    keys(None, home=tmp_path)
    first = current_keys()
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert current_keys() == first
    Fernet(first[0])  # a valid key


def test_a_malformed_key_is_a_clear_error(keys) -> None:  # type: ignore[no-untyped-def]
    keys("not-a-key")
    from gis.db.secrets import encrypt

    with pytest.raises(SecretKeyError, match="Fernet"):
        encrypt("x")
