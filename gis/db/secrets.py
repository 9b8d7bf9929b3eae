"""Secrets at rest: the credentials of notice channels, encrypted in the database and its backups.

Values under the keys in :data:`ENCRYPTED_FIELDS` of a JSON column typed
:class:`EncryptedSecrets` are stored as ``enc:v1:<Fernet token>`` (AES-128-CBC with
HMAC-SHA256, from the ``cryptography`` package) and read back in clear, so code that uses a
channel sees plain values and a dump of the database — a backup included — holds none.

The key: ``LOOKBACK_SECRET_KEY`` (one or more Fernet keys, newest first, comma-separated), or
else ``<LOOKBACK_HOME>/secret.key``, created with mode 0600 on first use. Keep the key apart from
the backups: a restored database needs it to send notices. Rotation: put a new key first in
``LOOKBACK_SECRET_KEY`` (the old ones after it still decrypt), run ``lookback notices rekey``
(every channel re-encrypted with the new key), then drop the old keys.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from gis.config import get_settings
from gis.errors import LookbackError

PREFIX = "enc:v1:"
# Passwords and signing secrets, and URLs (robots carry their access token in the query).
ENCRYPTED_FIELDS = frozenset({"secret", "password", "token", "url"})


class SecretKeyError(LookbackError):
    """The key cannot decrypt what is stored, or is malformed."""

    kind = "failed"


def _key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use that one
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


def current_keys() -> tuple[bytes, ...]:
    """The keys in force, newest first (the setting, else the key file)."""
    settings = get_settings()
    if settings.secret_key:
        return tuple(k.strip().encode() for k in settings.secret_key.split(",") if k.strip())
    return (_key_file(settings.secret_key_file),)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise SecretKeyError(
            "LOOKBACK_SECRET_KEY 格式错误：应为 Fernet 密钥（32 字节 URL-safe base64）"
            " / LOOKBACK_SECRET_KEY must hold Fernet keys (32 url-safe base64 bytes)"
        ) from exc


def encrypt(value: str) -> str:
    """``value`` encrypted with the newest key (already encrypted values are kept)."""
    if value.startswith(PREFIX):
        return value
    return PREFIX + _fernet(current_keys()).encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """The clear text of a stored value (values stored before encryption pass unchanged)."""
    if not value.startswith(PREFIX):
        return value
    try:
        return _fernet(current_keys()).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyError(
            "无法解密通知渠道的密钥：LOOKBACK_SECRET_KEY 或 secret.key 与加密时不同"
            " / cannot decrypt channel secrets: the key differs from the one they were"
            " encrypted with (LOOKBACK_SECRET_KEY or <home>/secret.key)"
        ) from exc


def _map(config: dict[str, Any] | None, fn) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    if config is None:
        return None
    return {
        k: fn(v) if k in ENCRYPTED_FIELDS and isinstance(v, str) and v else v
        for k, v in config.items()
    }


class EncryptedSecrets(TypeDecorator):
    """JSONB whose secret fields are encrypted on the way in and decrypted on the way out."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        return _map(value, encrypt)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return _map(value, decrypt)
