"""Managing accounts from the admin pages and ``/api/users``: lists, details, tokens, guards.

The writes themselves are :mod:`gis.access.auth`'s (``add_user``, ``set_role``,
``set_password``, ``disable_user``, ``create_token``, ``revoke_token``), each audited there.
This module adds what an administrator's screen needs around them: the user list with token
counts, a user's tokens (never the secrets), the audit entries about a user, a version string
that refuses stale forms, township codes checked against the ``townships`` table, and the rules
that keep an administrator from locking themself out.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gis.access import auth
from gis.access.auth import AuthError
from gis.db.models import ApiToken, AuthEvent, Township, User


class UserNotFound(AuthError):
    """No user of that name (or no such token of that user)."""

    kind = "not_found"


class AccountConflict(AuthError):
    """A change the account's current state does not allow (self-disable, a stale form)."""

    kind = "conflict"


SELF_DISABLE = "管理员不能停用自己的账号 an administrator cannot disable their own account"
SELF_DEMOTE = (
    "管理员不能取消自己的管理员身份 an administrator cannot take away their own admin access"
)
STALE = "账号已被他人修改，请刷新后重试 the account changed meanwhile; reload and retry"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def find_user(session: Session, name: str) -> User:
    """The user called ``name``, or :class:`UserNotFound`."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserNotFound(f"没有用户 {name} no user {name!r}")
    return user


def version_of(user: User) -> str:
    """A short fingerprint of what the admin forms change; a form sent with another is stale."""
    material = "\0".join(
        [
            user.role,
            ",".join(user.townships or []),
            str(user.disabled),
            user.password_hash or "",
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def check_version(user: User, version: str | None) -> None:
    """Refuse a form whose version does not match the user as stored now."""
    if version is not None and version != version_of(user):
        raise AccountConflict(STALE)


def _active_tokens(now: datetime):  # type: ignore[no-untyped-def]
    return (
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )


def user_dict(user: User, active_tokens: int = 0) -> dict[str, Any]:
    """A user as the API and pages show it (no hashes)."""
    now = datetime.now(UTC)
    return {
        "name": user.name,
        "role": user.role,
        "townships": list(user.townships or []),
        "disabled": user.disabled,
        "has_password": bool(user.password_hash),
        "locked": bool(user.locked_until and user.locked_until > now),
        "created_at": _iso(user.created_at),
        "active_tokens": active_tokens,
        "version": version_of(user),
    }


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user by name, with the number of tokens still usable."""
    now = datetime.now(UTC)
    counts = dict(
        session.execute(
            select(ApiToken.user_id, func.count())
            .where(*_active_tokens(now))
            .group_by(ApiToken.user_id)
        ).all()
    )
    users = session.scalars(select(User).order_by(User.name))
    return [user_dict(u, counts.get(u.id, 0)) for u in users]


def get_user_dict(session: Session, name: str) -> dict[str, Any]:
    """One user with the count of usable tokens, or :class:`UserNotFound`."""
    user = find_user(session, name)
    now = datetime.now(UTC)
    n = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, *_active_tokens(now))
    )
    return user_dict(user, n or 0)


def token_dict(token: ApiToken, now: datetime | None = None) -> dict[str, Any]:
    """A token's record: id, label, dates and whether it still works (never the secret)."""
    now = now or datetime.now(UTC)
    expired = token.expires_at is not None and token.expires_at <= now
    return {
        "id": token.id,
        "label": token.label,
        "created_at": _iso(token.created_at),
        "expires_at": _iso(token.expires_at),
        "revoked_at": _iso(token.revoked_at),
        "last_used_at": _iso(token.last_used_at),
        "active": token.revoked_at is None and not expired,
    }


def list_tokens(session: Session, name: str) -> list[dict[str, Any]]:
    """The user's tokens, newest first."""
    user = find_user(session, name)
    now = datetime.now(UTC)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    )
    return [token_dict(t, now) for t in tokens]


def all_tokens(session: Session) -> list[dict[str, Any]]:
    """Every token of every user, oldest first, each with its owner's name (never a secret)."""
    now = datetime.now(UTC)
    rows = session.execute(select(ApiToken, User.name).join(User).order_by(ApiToken.id))
    return [{**token_dict(t, now), "user": owner} for t, owner in rows]


def revoke_user_token(session: Session, *, name: str, token_id: int, actor: str) -> dict[str, Any]:
    """Revoke the token ``token_id`` of ``name`` (a token of someone else is not found)."""
    user = find_user(session, name)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise UserNotFound(f"用户 {name} 没有令牌 {token_id} no token {token_id} of {name!r}")
    if token.revoked_at is None:
        auth.revoke_token(session, token_id=token_id, actor=actor)
        session.flush()
    return token_dict(token)


def unknown_townships(session: Session, codes: list[str] | None) -> list[str]:
    """The codes among ``codes`` that are not townships of the county."""
    wanted = sorted(set(codes or []))
    if not wanted:
        return []
    known = set(session.scalars(select(Township.code).where(Township.code.in_(wanted))))
    return [c for c in wanted if c not in known]


def check_townships(session: Session, codes: list[str] | None) -> None:
    unknown = unknown_townships(session, codes)
    if unknown:
        raise AuthError(f"没有这些乡镇 unknown township codes: {', '.join(unknown)}")


def add_user(
    session: Session,
    *,
    name: str,
    role: str,
    password: str,
    townships: list[str] | None,
    actor: str,
) -> User:
    """An account with a password obeying the policy; township codes must exist."""
    name = name.strip()
    if any(c in name for c in "/?#%\\") or any(ord(c) < 32 for c in name):
        raise AuthError(
            "用户名不能含 / ? # % \\ 或控制字符 "
            "a user name cannot hold / ? # % \\ or control characters"
        )
    check_townships(session, townships)
    return auth.add_user(
        session, name=name, role=role, password=password, townships=townships, actor=actor
    )


def change_role(
    session: Session,
    *,
    name: str,
    role: str,
    townships: list[str] | None,
    actor: str,
    version: str | None = None,
) -> User:
    """Change role and townships; an admin keeps their own admin role."""
    user = find_user(session, name)
    check_version(user, version)
    if name == actor and user.role == "admin" and role != "admin":
        raise AccountConflict(SELF_DEMOTE)
    if role not in auth.SCOPED_ROLES and role != "viewer":
        townships = []  # office and admin see the whole county
    check_townships(session, townships)
    return auth.set_role(session, name=name, role=role, townships=townships, actor=actor)


def disable(session: Session, *, name: str, actor: str, version: str | None = None) -> User:
    """Disable ``name`` (ending their sessions and tokens); nobody disables themself."""
    user = find_user(session, name)
    check_version(user, version)
    if name == actor:
        raise AccountConflict(SELF_DISABLE)
    auth.disable_user(session, name=name, actor=actor)
    session.flush()
    return user


def enable(session: Session, *, name: str, actor: str, version: str | None = None) -> User:
    """Enable a disabled (or locked) account again; its ended sessions and tokens stay ended."""
    user = find_user(session, name)
    check_version(user, version)
    before = {"disabled": user.disabled, "locked": user.locked_until is not None}
    user.disabled, user.failed_logins, user.locked_until = False, 0, None
    auth.audit(session, actor=actor, action="user_enabled", subject=name, detail=before)
    session.flush()
    return user


def reset_password(
    session: Session,
    *,
    name: str,
    password: str,
    actor: str,
    version: str | None = None,
    keep_session: str | None = None,
) -> User:
    """A new password for ``name``; every session and token of theirs ends (auth.set_password).

    ``keep_session``: the raw session id of an administrator resetting their own password, so
    that the browser doing it stays signed in.
    """
    user = find_user(session, name)
    check_version(user, version)
    auth.set_password(
        session,
        name=name,
        password=password,
        actor=actor,
        keep_session=keep_session if name == actor else None,
    )
    session.flush()
    return user


def new_token(
    session: Session, *, name: str, label: str, days: int | None, actor: str
) -> tuple[str, dict[str, Any]]:
    """A new token for an enabled user: (the secret, shown once; its record)."""
    user = find_user(session, name)
    if user.disabled:
        raise AccountConflict(f"用户 {name} 已停用 the user {name!r} is disabled")
    raw = auth.create_token(session, name=name, label=label.strip(), days=days, actor=actor)
    session.flush()
    token = session.scalar(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()).limit(1)
    )
    assert token is not None
    return raw, token_dict(token)


def user_events(session: Session, name: str, limit: int = 30) -> list[dict[str, Any]]:
    """The audit entries about ``name`` or by ``name`` (sign-ins, changes), newest first."""
    rows = session.scalars(
        select(AuthEvent)
        .where(or_(AuthEvent.subject == name, AuthEvent.actor == name))
        .order_by(AuthEvent.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "ip": e.ip,
            "detail": e.detail,
        }
        for e in rows
    ]
