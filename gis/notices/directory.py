"""Contacts and channels, managed by the office; who a notice goes to and through what.

Contacts are people (a responsible person matched by name and unit, a township head by township,
the office); channels are an SMTP server or a group-chat robot / webhook whose credentials sit in
``config``. A channel with a township only carries that township's notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from gis.db.models import NOTICE_CHANNEL_KINDS, NOTICE_RECIPIENT_ROLES, NoticeChannel, NoticeContact
from gis.geo.townships import township_exists
from gis.ledger.writes import Conflict, LedgerError, NotFound
from gis.notices.config import get_notice_settings
from gis.notices.outbound import literal_refusal, parse_allow_list

EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
SECRET_KEYS = frozenset({"secret", "password", "token"})
SECURITY = ("none", "starttls", "ssl")
# Per channel kind: allowed config keys, required ones.
CONFIG_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "email": (
        frozenset(
            {"host", "port", "from_addr", "from_name", "username", "password", "security"}
            | {"test_to"}
        ),
        frozenset({"host", "from_addr"}),
    ),
    "dingtalk": (frozenset({"url", "secret", "at_recipients"}), frozenset({"url"})),
    "wecom": (frozenset({"url"}), frozenset({"url"})),
    "webhook": (frozenset({"url", "secret", "header"}), frozenset({"url", "secret"})),
}


def _township_exists(session: Session, code: str | None) -> None:
    if code is None:
        return
    if not township_exists(session, code):
        raise LedgerError(f"no township with code {code}", field="township_code")


def _check_contact(values: dict[str, Any]) -> None:
    if not str(values.get("name") or "").strip():
        raise LedgerError("a contact needs a name", field="name")
    if values.get("role") not in NOTICE_RECIPIENT_ROLES:
        raise LedgerError(f"role must be one of: {', '.join(NOTICE_RECIPIENT_ROLES)}", field="role")
    email, phone = values.get("email") or "", values.get("phone") or ""
    if email and not EMAIL.match(email):
        raise LedgerError(f"not an e-mail address: {email!r}", field="email")
    if phone and not PHONE.match(phone):
        raise LedgerError(f"not a phone number: {phone!r}", field="phone")
    if values.get("role") == "township_head" and not values.get("township_code"):
        raise LedgerError("a township head needs township_code", field="township_code")


def add_contact(
    session: Session,
    *,
    name: str,
    role: str,
    township_code: str | None = None,
    unit: str = "",
    email: str = "",
    phone: str = "",
) -> NoticeContact:
    """Add a contact, or update the e-mail and phone of the same person in the same post."""
    values = {
        "name": name.strip(),
        "role": role,
        "township_code": township_code or None,
        "unit": unit.strip(),
        "email": email.strip(),
        "phone": phone.strip(),
    }
    _check_contact(values)
    _township_exists(session, values["township_code"])
    stmt = select(NoticeContact).where(
        NoticeContact.role == role,
        NoticeContact.name == values["name"],
        NoticeContact.unit == values["unit"],
        NoticeContact.township_code.is_(None)
        if values["township_code"] is None
        else NoticeContact.township_code == values["township_code"],
    )
    contact = session.scalars(stmt.with_for_update()).first()
    if contact is None:
        contact = NoticeContact(**values, enabled=True)
        session.add(contact)
    else:
        contact.email, contact.phone, contact.enabled = values["email"], values["phone"], True
    session.flush()
    return contact


def update_contact(session: Session, contact_id: int, changes: dict[str, Any]) -> NoticeContact:
    """Change a contact's fields (name, role, township_code, unit, email, phone, enabled)."""
    contact = session.get(NoticeContact, contact_id, with_for_update=True)
    if contact is None:
        raise NotFound(f"no contact {contact_id}")
    allowed = {"name", "role", "township_code", "unit", "email", "phone", "enabled"}
    unknown = set(changes) - allowed
    if unknown:
        raise LedgerError(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    merged = {k: getattr(contact, k) for k in allowed} | changes
    _check_contact(merged)
    _township_exists(session, merged["township_code"])
    for key, value in changes.items():
        setattr(contact, key, value.strip() if isinstance(value, str) else value)
    session.flush()
    return contact


def list_contacts(
    session: Session, *, role: str | None = None, township_code: str | None = None
) -> list[NoticeContact]:
    """Contacts, by role and name."""
    stmt = select(NoticeContact)
    if role:
        stmt = stmt.where(NoticeContact.role == role)
    if township_code:
        stmt = stmt.where(NoticeContact.township_code == township_code)
    return list(session.scalars(stmt.order_by(NoticeContact.role, NoticeContact.name)))


def contact_dict(contact: NoticeContact) -> dict[str, Any]:
    """A contact as JSON-ready values."""
    return {
        "id": contact.id,
        "name": contact.name,
        "role": contact.role,
        "township_code": contact.township_code,
        "unit": contact.unit,
        "email": contact.email,
        "phone": contact.phone,
        "enabled": contact.enabled,
    }


def _check_host(host: str) -> None:
    """Refuse a host written as an internal address now; names are checked when resolved."""
    allow = parse_allow_list(get_notice_settings().allow_hosts)
    reason = literal_refusal(host, allow)
    if reason:
        raise LedgerError(
            f"拒绝内部地址 refused: {reason}; an administrator may allow the host in "
            "LOOKBACK_NOTICES_ALLOW_HOSTS",
            field="config",
        )


def _check_url(url: Any) -> None:
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise LedgerError(f"not an http(s) URL: {url!r}", field="config")
    _check_host(parts.hostname)


def check_channel_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config normalised for ``kind``, or :class:`LedgerError` saying what is wrong."""
    if kind not in NOTICE_CHANNEL_KINDS:
        raise LedgerError(f"kind must be one of: {', '.join(NOTICE_CHANNEL_KINDS)}", field="kind")
    allowed, required = CONFIG_KEYS[kind]
    config = {k: v for k, v in config.items() if v is not None and v != ""}
    unknown = set(config) - allowed
    if unknown:
        raise LedgerError(
            f"unknown {kind} settings: {', '.join(sorted(unknown))};"
            f" allowed: {', '.join(sorted(allowed))}",
            field="config",
        )
    missing = required - set(config)
    if missing:
        raise LedgerError(f"a {kind} channel needs {', '.join(sorted(missing))}", field="config")
    if "url" in config:
        _check_url(config["url"])
    if kind == "email":
        try:
            config["port"] = int(config.get("port", 25))
        except (TypeError, ValueError) as exc:
            raise LedgerError("port must be a number", field="config") from exc
        if not 0 < config["port"] < 65536:
            raise LedgerError("port must be 1–65535", field="config")
        _check_host(str(config["host"]))
        config.setdefault("security", "none")
        if config["security"] not in SECURITY:
            raise LedgerError(f"security must be one of: {', '.join(SECURITY)}", field="config")
        for key in ("from_addr", "test_to"):
            if key in config and not EMAIL.match(str(config[key])):
                raise LedgerError(f"{key} is not an e-mail address", field="config")
    if kind == "dingtalk":
        config["at_recipients"] = bool(config.get("at_recipients", True))
    return config


def add_channel(
    session: Session,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    township_code: str | None = None,
    enabled: bool = True,
) -> NoticeChannel:
    """Add a channel; its name must be unused."""
    name = name.strip()
    if not name:
        raise LedgerError("a channel needs a name", field="name")
    checked = check_channel_config(kind, dict(config))
    _township_exists(session, township_code)
    if session.scalars(select(NoticeChannel.id).where(NoticeChannel.name == name)).first():
        raise Conflict(f"a channel named {name!r} exists")
    channel = NoticeChannel(
        name=name, kind=kind, config=checked, township_code=township_code, enabled=enabled
    )
    session.add(channel)
    session.flush()
    return channel


def rekey_channels(session: Session) -> int:
    """Encrypt every channel's credentials again with the newest key (see gis.db.secrets);
    returns how many channels were rewritten."""
    channels = session.scalars(select(NoticeChannel).with_for_update()).all()
    for channel in channels:
        channel.config = dict(channel.config)  # read in clear, written with the newest key
        flag_modified(channel, "config")
    session.flush()
    return len(channels)


def update_channel(session: Session, channel_id: int, changes: dict[str, Any]) -> NoticeChannel:
    """Change a channel's config (merged; a null value removes a key), township or enabled."""
    channel = session.get(NoticeChannel, channel_id, with_for_update=True)
    if channel is None:
        raise NotFound(f"no channel {channel_id}")
    unknown = set(changes) - {"config", "township_code", "enabled"}
    if unknown:
        raise LedgerError(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if "config" in changes:
        merged = dict(channel.config)
        for key, value in (changes["config"] or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        channel.config = check_channel_config(channel.kind, merged)
    if "township_code" in changes:
        _township_exists(session, changes["township_code"])
        channel.township_code = changes["township_code"]
    if "enabled" in changes:
        channel.enabled = bool(changes["enabled"])
    session.flush()
    return channel


def find_channel(session: Session, ref: str | int) -> NoticeChannel:
    """A channel by id or name, or :class:`NotFound`."""
    if isinstance(ref, int) or str(ref).isdigit():
        channel = session.get(NoticeChannel, int(ref))
    else:
        channel = session.scalars(select(NoticeChannel).where(NoticeChannel.name == ref)).first()
    if channel is None:
        raise NotFound(f"no channel {ref!r}")
    return channel


def list_channels(session: Session) -> list[NoticeChannel]:
    """Every channel, by name."""
    return list(session.scalars(select(NoticeChannel).order_by(NoticeChannel.name)))


def redact_url(url: str) -> str:
    """A URL with its query values hidden (robot URLs carry their token in the query)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(query=query))


def redacted_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config safe to show: secrets masked, URL tokens hidden."""
    shown: dict[str, Any] = {}
    for key, value in config.items():
        if key in SECRET_KEYS:
            shown[key] = "***" if value else ""
        elif key == "url":
            shown[key] = redact_url(str(value))
        else:
            shown[key] = value
    return shown


def channel_dict(channel: NoticeChannel) -> dict[str, Any]:
    """A channel as JSON-ready values, credentials hidden."""
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "township_code": channel.township_code,
        "enabled": channel.enabled,
        "config": redacted_config(channel.config),
    }


@dataclass(frozen=True)
class Subject:
    """What recipient resolution needs to know about a notice's subject."""

    township_code: str | None
    responsible_person: str = ""
    responsible_unit: str = ""


def resolve_recipients(
    contacts: list[NoticeContact], roles: list[str], subject: Subject
) -> list[dict[str, Any]]:
    """The enabled contacts a notice with ``roles`` reaches, in role order, each once."""
    found: list[dict[str, Any]] = []
    seen: set[int] = set()
    for role in roles:
        for c in contacts:
            if c.id in seen or not c.enabled or c.role != role:
                continue
            in_township = c.township_code is None or c.township_code == subject.township_code
            if role == "responsible_person":
                ok = (
                    bool(subject.responsible_person)
                    and c.name == subject.responsible_person
                    and (not c.unit or c.unit == subject.responsible_unit)
                    and in_township
                )
            elif role == "township_head":
                ok = subject.township_code is not None and c.township_code == subject.township_code
            else:
                ok = in_township
            if ok:
                seen.add(c.id)
                found.append(
                    {
                        "contact_id": c.id,
                        "name": c.name,
                        "role": c.role,
                        "unit": c.unit,
                        "township_code": c.township_code,
                        "email": c.email,
                        "phone": c.phone,
                    }
                )
    return found


def channels_for(
    channels: list[NoticeChannel], wanted: list[str], township_code: str | None
) -> list[NoticeChannel]:
    """The enabled channels a rule names (by name or kind; none named: all) for a township."""
    chosen = []
    for ch in channels:
        if not ch.enabled:
            continue
        if wanted and ch.name not in wanted and ch.kind not in wanted:
            continue
        if ch.township_code is not None and ch.township_code != township_code:
            continue
        chosen.append(ch)
    return chosen
