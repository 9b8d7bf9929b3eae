"""Property-based API tests from the OpenAPI description (schemathesis): no input causes a 5xx.

Every operation gets generated requests (paths, queries, bodies) as the office, on a database of
its own holding the demo county, so writes cannot disturb other tests.
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from gis.config import Settings
from gis.db.engine import make_engine, upgrade
from gis.demo.county import load_demo
from server.app import create_app
from tests.conftest import DEMO_AS_OF, create_database
from tests.factories import make_token

HEADERS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(pg_cluster):  # type: ignore[no-untyped-def]
    url = create_database(pg_cluster, "lookback_schemathesis")
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, scale=120, seed=11, as_of=DEMO_AS_OF)
    HEADERS.update(make_token(engine, "office"))
    app = create_app(engine=engine, settings=Settings(), clock=lambda: date(2026, 11, 23))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.dispose()


def test_no_request_causes_a_server_error(api_schema) -> None:  # type: ignore[no-untyped-def]
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def exercise(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=HEADERS, checks=[not_a_server_error])

        try:
            exercise()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {str(exc)[:300]}")
    assert operations > 40
    assert failures == []
