"""Demo sign-ins, one per role, with random passwords shown once when the demo is loaded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.access.auth import add_user
from gis.db.models import Township, User


@dataclass
class DemoLogin:
    name: str
    role: str
    townships: list[str]
    password: str


def create_demo_users(session: Session) -> list[DemoLogin]:
    """Create demo-admin, demo-office, demo-township, demo-inspector and demo-viewer."""
    if session.scalar(select(User.id).where(User.name.like("demo-%")).limit(1)):
        return []
    first = session.scalar(select(Township.code).order_by(Township.code))
    towns = [first] if first else []
    logins = []
    for role in ("admin", "office", "township", "inspector", "viewer"):
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        scoped = towns if role in ("township", "inspector") else []
        add_user(
            session,
            name=f"demo-{role}",
            role=role,
            password=password,
            townships=scoped,
            actor="demo",
        )
        logins.append(DemoLogin(f"demo-{role}", role, scoped, password))
    return logins
