"""Peer for ingest: the plain FastAPI + SQLAlchemy ORM endpoint one writes in an afternoon.

``POST /inspections`` (and ``POST /complaints``): one pydantic model, one ORM object added and
committed per request, the new id returned. It has none of Lookback's work per request: no
authentication, no township assignment, no flags, no idempotency answer, no rebound check, no
hints, no event. Its tables mirror ``inspections`` and ``complaints``
(same column types, a GiST index on the point) so the database does comparable work per row.
Served by ``uvicorn bench.peers.orm_ingest:create_app --factory`` on ``LOOKBACK_BENCH_URL``.
"""

from __future__ import annotations

import os
import uuid as uuid_mod
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI
from geoalchemy2 import Geometry
from pydantic import BaseModel
from sqlalchemy import DateTime, Float, String, Text, Uuid, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

TABLE = "bench_peer_complaints"
INSPECTIONS = "bench_peer_inspections"


class Base(DeclarativeBase):
    pass


class PeerComplaint(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4490, spatial_index=True))


class PeerInspection(Base):
    """Mirrors ``inspections``: a unique client UUID, the point with a GiST index."""

    __tablename__ = INSPECTIONS

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_mod.UUID] = mapped_column(Uuid, unique=True)
    finding: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4490, spatial_index=True))


class InspectionIn(BaseModel):
    uuid: uuid_mod.UUID
    lon: float
    lat: float
    observed_at: datetime
    finding: str
    accuracy_m: float | None = None
    category: str | None = None
    note: str = ""


class ComplaintIn(BaseModel):
    code: str
    channel: str
    kind: str
    received_at: datetime
    text: str = ""
    category: str | None = None
    geometry: dict[str, Any]


def create_app() -> FastAPI:
    engine = create_engine(os.environ["LOOKBACK_BENCH_URL"], pool_size=10, max_overflow=10)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine)
    app = FastAPI(title="ORM peer")

    def session() -> Any:
        with sessions() as s:
            yield s

    @app.post("/complaints", status_code=201)
    def create(body: ComplaintIn, s: Session = Depends(session)) -> dict:  # noqa: B008
        lon, lat = body.geometry["coordinates"][:2]
        row = PeerComplaint(
            code=body.code,
            channel=body.channel,
            kind=body.kind,
            category=body.category,
            text=body.text,
            received_at=body.received_at,
            geom=f"SRID=4490;POINT({float(lon)} {float(lat)})",
        )
        s.add(row)
        s.commit()
        return {"id": row.id, "code": row.code}

    @app.post("/inspections", status_code=201)
    def inspect(body: InspectionIn, s: Session = Depends(session)) -> dict:  # noqa: B008
        row = PeerInspection(
            uuid=body.uuid,
            finding=body.finding,
            category=body.category,
            note=body.note,
            accuracy_m=body.accuracy_m,
            observed_at=body.observed_at,
            geom=f"SRID=4490;POINT({body.lon} {body.lat})",
        )
        s.add(row)
        s.commit()
        return {"id": row.id, "uuid": str(row.uuid)}

    return app
