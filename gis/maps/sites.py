"""Reading sites (plants, mining sites, protection zones, air stations…) for maps and checks."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import vocab
from gis.geo.sql import as_geojson_sql


def sites_geojson(
    session: Session, *, kinds: tuple[str, ...] | None = None,
    township_codes: tuple[str, ...] | None = None,
) -> dict:
    """Sites as a FeatureCollection with kind, name, zone level and bilingual kind label."""
    clauses, params = ["TRUE"], {}
    if kinds:
        clauses.append("s.kind = ANY(:kinds)")
        params["kinds"] = list(kinds)
    if township_codes:
        clauses.append("s.township_code = ANY(:towns)")
        params["towns"] = list(township_codes)
    labels = " ".join(f"WHEN '{k.value}' THEN '{k.zh} {k.en}'" for k in vocab.SiteKind)
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            COALESCE(json_agg(json_build_object(
                'type', 'Feature', 'id', s.id, 'geometry', {as_geojson_sql('s.geom')},
                'properties', json_build_object(
                    'id', s.id, 'kind', s.kind, 'name', s.name, 'zone_level', s.zone_level,
                    'township_code', s.township_code,
                    'kind_label', CASE s.kind {labels} ELSE s.kind END)
            ) ORDER BY s.id), '[]'::json))
        FROM sites s WHERE {' AND '.join(clauses)}
    """
    return session.execute(text(sql), params).scalar_one()
