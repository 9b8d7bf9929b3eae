"""FastAPI dependencies: the engine, sessions, settings and the clock, as ``Annotated`` aliases.

The database types routes need (``Session``, ``Engine``, ``Connection``) are named here, so that
``server.routes`` itself imports nothing from SQLAlchemy: a route parses, authorises, calls
``gis/`` and serialises; SQL lives in ``gis/`` (an import-linter contract holds it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Request
from sqlalchemy import Connection as Connection  # re-exported for routes
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger.deadlines import local_today


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_today(request: Request) -> date:
    """Today's local date; ``app.state.clock`` can fix it (tests, 'as of' views)."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock else local_today()


def get_actor(
    x_lookback_actor: Annotated[
        str, Header(min_length=1, max_length=100, description="who makes the change")
    ],
) -> str:
    """The person making a change, recorded in every event (percent-encoded UTF-8 allowed)."""
    return unquote(x_lookback_actor).strip()


ActorDep = Annotated[str, Depends(get_actor)]
EngineDep = Annotated[Engine, Depends(get_engine)]
# The session type for helpers in routes, so that routes need not import SQLAlchemy.
DbSession = Session
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
TodayDep = Annotated[date, Depends(get_today)]


@contextmanager
def committing(session: Session) -> Iterator[None]:
    """Commit what the block writes (joining a transaction already begun), or roll it back."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise

