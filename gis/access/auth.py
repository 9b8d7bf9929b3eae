"""Users, roles, township scope, passwords, bearer tokens and browser sessions.

Roles: ``admin`` (users and tokens, everything), ``office`` (the county rectification office:
every township, approves closures, runs look-backs), ``township`` (its townships: progress,
evidence, closure applications; cannot close), ``inspector`` (submits inspections, reads its
townships' problems), ``viewer`` (read-only, e.g. a wall kiosk). Passwords are argon2id hashes;
tokens and session ids are random and stored as SHA-256 only. Every login, failed login, role
and token change is an :class:`~gis.db.models.AuthEvent`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from gis.access.scope import in_scope
from gis.db.models import ApiToken, AuthEvent, User, WebSession
from gis.errors import LookbackError

ROLES = ("admin", "office", "township", "inspector", "viewer")
SCOPED_ROLES = ("township", "inspector")
MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
TOKEN_PREFIX = "lb_"

_hasher = PasswordHasher()


class AuthError(LookbackError, ValueError):
    """A sign-in or account request refused, with a message safe to show."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: name, role and, for scoped roles, the townships they may see."""

    user_id: int
    name: str
    role: str
    townships: tuple[str, ...] | None  # None: every township

    def can_see(self, township_code: str | None) -> bool:
        """Whether a row of ``township_code`` is within this principal's scope."""
        return in_scope(self.townships, township_code)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password_policy(password: str, *, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse short or common passwords (≥ 12 characters, not guessable per zxcvbn)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            f"密码至少{MIN_PASSWORD_LENGTH}位 password must have at least "
            f"{MIN_PASSWORD_LENGTH} characters"
        )
    result = zxcvbn(password[:100], user_inputs=list(user_inputs))
    if result["score"] < 3:
        hint = result["feedback"].get("warning") or "it is too common or guessable"
        raise AuthError(f"密码过于常见或易猜 password is too weak: {hint}")


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    ip: str = "",
    detail: dict | None = None,
) -> None:
    """Append an entry to the authentication audit trail."""
    session.add(AuthEvent(actor=actor, action=action, subject=subject, ip=ip, detail=detail or {}))


def principal_of(user: User) -> Principal:
    scoped = user.role in SCOPED_ROLES or (user.role == "viewer" and user.townships)
    return Principal(user.id, user.name, user.role, tuple(user.townships) if scoped else None)


def add_user(
    session: Session,
    *,
    name: str,
    role: str,
    password: str | None,
    townships: list[str] | None = None,
    actor: str,
) -> User:
    """Create a user; township and inspector roles need at least one township."""
    if role not in ROLES:
        raise AuthError(f"role must be one of: {', '.join(ROLES)}")
    if not name.strip() or len(name) > 100:
        raise AuthError("a user name of 1 to 100 characters is needed")
    if role in SCOPED_ROLES and not townships:
        raise AuthError(f"a {role} user needs at least one --township")
    if session.scalar(select(User.id).where(User.name == name)):
        raise AuthError(f"user {name!r} exists")
    if password is not None:
        check_password_policy(password, user_inputs=(name,))
    user = User(
        name=name,
        role=role,
        townships=sorted(set(townships or [])),
        disabled=False,
        failed_logins=0,
        password_hash=_hasher.hash(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor=actor,
        action="user_added",
        subject=name,
        detail={"role": role, "townships": user.townships},
    )
    return user


def set_role(
    session: Session, *, name: str, role: str, townships: list[str] | None, actor: str
) -> User:
    """Change a user's role and townships (audited)."""
    user = get_user(session, name)
    if role not in ROLES:
        raise AuthError(f"role must be one of: {', '.join(ROLES)}")
    if role in SCOPED_ROLES and not townships:
        raise AuthError(f"a {role} user needs at least one --township")
    before = {"role": user.role, "townships": user.townships}
    user.role, user.townships = role, sorted(set(townships or []))
    forget_tokens(session)
    audit(
        session,
        actor=actor,
        action="role_changed",
        subject=name,
        detail={"before": before, "after": {"role": role, "townships": user.townships}},
    )
    return user


def set_password(
    session: Session, *, name: str, password: str, actor: str, keep_session: str | None = None
) -> None:
    """Set a new password; every token and every session of the user ends, but ``keep_session``.

    ``keep_session`` is the raw session id of the browser that changed its own password.
    """
    user = get_user(session, name)
    check_password_policy(password, user_inputs=(name,))
    user.password_hash = _hasher.hash(password)
    forget_tokens(session)
    now = datetime.now(UTC)
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended = update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    if keep_session:
        ended = ended.where(WebSession.session_hash != _digest(keep_session))
    session.execute(ended.values(ended_at=now))
    audit(session, actor=actor, action="password_changed", subject=name)


def user_named(session: Session, name: str) -> User | None:
    """The user called ``name``, or None."""
    return session.scalar(select(User).where(User.name == name))


def get_user(session: Session, name: str) -> User:
    user = user_named(session, name)
    if user is None:
        raise AuthError(f"no user {name!r}")
    return user


def disable_user(session: Session, *, name: str, actor: str) -> None:
    """Disable a user and end their sessions and tokens."""
    user = get_user(session, name)
    user.disabled = True
    forget_tokens(session)
    now = datetime.now(UTC)
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit(session, actor=actor, action="user_disabled", subject=name)


# One answer for every refused sign-in: it does not tell whether the account exists or is locked.
SIGN_IN_REFUSED = (
    "用户名或密码错误，或尝试次数过多已暂时锁定 wrong user name or password, or locked for "
    f"{int(LOCKOUT.total_seconds() // 60)} minutes after too many failed attempts"
)


def _claim_attempt(session: Session, *, name: str, ip: str, now: datetime) -> bool:
    """Count a sign-in attempt before the password is checked; False when the account is locked.

    The attempt is counted in its own committed transaction under a row lock, so parallel
    attempts are counted one after the other and at most :data:`MAX_FAILED_LOGINS` of them
    reach the password check before the account locks. A right password clears the count.
    """
    with Session(session.get_bind()) as side, side.begin():
        user = side.scalar(select(User).where(User.name == name).with_for_update())
        if user is None:
            return True
        if user.locked_until and user.locked_until > now:
            return False
        if user.locked_until:  # an expired lock: a fresh count
            user.locked_until, user.failed_logins = None, 0
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            # The last guess allowed is this one; a right password lifts the lock again.
            user.locked_until = now + LOCKOUT
        return True


def _record_failure(
    session: Session, *, name: str, ip: str, locked: bool, action: str = "login_failed"
) -> None:
    """Audit a refused sign-in in its own transaction, so refusing the caller does not undo it."""
    with Session(session.get_bind()) as side, side.begin():
        if locked:
            user = side.scalar(select(User).where(User.name == name))
            if user is not None and user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins = 0
                audit(side, actor=name, action="account_locked", ip=ip)
        audit(side, actor=name, action=action, ip=ip)


def verify_password(
    session: Session, *, name: str, password: str, ip: str = "", now: datetime | None = None
) -> User:
    """The user if the password is right; at most 5 wrong guesses, then locked for 15 minutes.

    Every refusal (unknown, disabled or locked account, wrong password) raises the same
    :class:`AuthError` after the same work, so the answer does not reveal that an account exists.
    """
    now = now or datetime.now(UTC)
    refused = AuthError(SIGN_IN_REFUSED)
    allowed = _claim_attempt(session, name=name, ip=ip, now=now)
    # The claim was committed beside this session: read the row as it is now.
    user = session.scalar(
        select(User).where(User.name == name).execution_options(populate_existing=True)
    )
    if user is None or user.disabled or not user.password_hash:
        _hasher.hash(password)  # spend the same time as a real check
        _record_failure(session, name=name, ip=ip, locked=False)
        raise refused
    if not allowed:
        _hasher.hash(password)
        _record_failure(session, name=name, ip=ip, locked=False, action="login_locked")
        raise refused
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        _record_failure(session, name=name, ip=ip, locked=user.locked_until is not None)
        raise refused from None
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def create_token(
    session: Session, *, name: str, label: str = "", days: int | None = 90, actor: str
) -> str:
    """A new bearer token for ``name`` (returned once; only its hash is kept)."""
    user = get_user(session, name)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    session.add(ApiToken(user_id=user.id, label=label, token_hash=_digest(raw), expires_at=expires))
    audit(
        session,
        actor=actor,
        action="token_created",
        subject=name,
        detail={"label": label, "expires_at": expires.isoformat() if expires else None},
    )
    return raw


def revoke_token(session: Session, *, token_id: int, actor: str) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AuthError(f"no token {token_id}")
    token.revoked_at = datetime.now(UTC)
    forget_tokens(session)
    audit(session, actor=actor, action="token_revoked", subject=str(token_id))


def principal_for_token(
    session: Session, raw: str, *, now: datetime | None = None
) -> Principal | None:
    """The token's user, or None when unknown, revoked, expired or disabled."""
    found = _token_row(session, _digest(raw), now or datetime.now(UTC))
    return found[0] if found is not None else None


def _token_row(
    session: Session, digest: str, now: datetime
) -> tuple[Principal, datetime | None] | None:
    """The principal and expiry of the token with hash ``digest``, if it may be used now."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at or user.disabled or (token.expires_at and token.expires_at <= now):
        return None
    if not token.last_used_at or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return principal_of(user), token.expires_at


# -- the token cache -----------------------------------------------------------------------------
#
# A bearer token's principal is remembered for TOKEN_CACHE_S seconds in this process, keyed by the
# token's SHA-256, so a client sending many requests does not cost a lookup (and a transaction)
# each. Revoking a token, disabling a user, changing a role or a password through this module
# empties the cache at once and again when that transaction commits; a change made by another
# process (the CLI, a second worker) takes effect here within TOKEN_CACHE_S at most. A token's
# own expiry is checked on every use, cached or not.

TOKEN_CACHE_S = 5.0
_clock = time.monotonic
TOKEN_CACHE_SIZE = 4096
_token_cache: dict[str, tuple[float, Principal, datetime | None]] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached token principal (this process)."""
    with _token_lock:
        _token_cache.clear()


def forget_tokens(session: Session | None = None) -> None:
    """Empty the token cache now and, with ``session``, again after it commits."""
    clear_token_cache()
    if session is not None:
        event.listen(session, "after_commit", lambda _s: clear_token_cache(), once=True)


def peek_token(raw: str, *, now: datetime | None = None) -> Principal | None:
    """The cached principal of a bearer token, or None when it is not cached (or expired)."""
    with _token_lock:
        hit = _token_cache.get(_digest(raw))
    if hit is None:
        return None
    until, principal, expires_at = hit
    if until <= _clock():
        return None
    if expires_at is not None and expires_at <= (now or datetime.now(UTC)):
        return None
    return principal


def cached_principal_for_token(
    session_of, raw: str, *, now: datetime | None = None  # type: ignore[no-untyped-def]
) -> Principal | None:
    """:func:`principal_for_token` through the cache; ``session_of()`` opens a session on a miss.

    ``session_of`` returns a context manager giving a session in a transaction; it is called
    only when the token is not cached (unknown and refused tokens are never cached).
    """
    now = now or datetime.now(UTC)
    cached = peek_token(raw, now=now)
    if cached is not None:
        return cached
    key = _digest(raw)
    tick = _clock()
    with session_of() as session:
        found = _token_row(session, key, now)
        if found is None:
            return None
        principal, expires_at = found
    with _token_lock:
        if len(_token_cache) >= TOKEN_CACHE_SIZE:
            _token_cache.clear()
        _token_cache[key] = (tick + TOKEN_CACHE_S, principal, expires_at)
    return principal


KIOSK_ROLES = ("viewer",)


def kiosk_principal(
    session: Session, raw: str, *, now: datetime | None = None
) -> Principal | None:
    """A wall display's caller: a valid token of a read-only account, else None.

    A kiosk keeps its token in a cookie for months, unattended; only an account that can
    change nothing may sign one in (revoke the token to end it)."""
    principal = principal_for_token(session, raw, now=now)
    if principal is None or principal.role not in KIOSK_ROLES:
        return None
    return principal


def start_session(session: Session, user: User, *, ip: str = "") -> tuple[str, str]:
    """A new session for ``user``: (cookie value, CSRF token)."""
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    session.add(
        WebSession(
            user_id=user.id,
            session_hash=_digest(raw),
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    audit(session, actor=user.name, action="login", ip=ip)
    return raw, csrf


def session_principal(
    session: Session, raw: str, *, now: datetime | None = None
) -> tuple[Principal, str] | None:
    """The session's principal and CSRF token, or None when ended, idle or too old."""
    now = now or datetime.now(UTC)
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.session_hash == _digest(raw))
    ).first()
    if row is None:
        return None
    web, user = row
    if (
        web.ended_at
        or user.disabled
        or now - web.last_seen_at > SESSION_IDLE
        or now - web.created_at > SESSION_MAX
    ):
        return None
    web.last_seen_at = now
    return principal_of(user), web.csrf_token


def end_session(session: Session, raw: str) -> None:
    web = session.scalar(select(WebSession).where(WebSession.session_hash == _digest(raw)))
    if web and not web.ended_at:
        web.ended_at = datetime.now(UTC)
        user = session.get(User, web.user_id)
        audit(session, actor=user.name if user else "?", action="logout")
