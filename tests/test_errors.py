"""Every domain error has one base and one HTTP status, from one table."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import get_args

import gis
from gis.errors import Kind, LookbackError
from server.errors import STATUS


def gis_exception_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(gis.__path__, "gis."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == info.name and issubclass(obj, Exception):
                found.append(obj)
    return found


def test_every_domain_error_derives_from_the_one_base() -> None:
    classes = gis_exception_classes()
    assert len(classes) >= 15
    outside = [
        c.__qualname__ for c in classes if not issubclass(c, LookbackError) and c.__name__[0] != "_"
    ]
    assert outside == []


def test_every_kind_has_a_status() -> None:
    assert set(STATUS) == set(get_args(Kind))
    assert {c.kind for c in gis_exception_classes() if issubclass(c, LookbackError)} <= set(STATUS)


def test_errors_answer_with_their_status(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        missing = c.get("/api/problems/NO-SUCH-CODE")
        assert missing.status_code == 404 and "NO-SUCH-CODE" in missing.json()["detail"]
        code = c.get("/api/problems", params={"status": "closed", "limit": 1}).json()["items"][0][
            "code"
        ]
        illegal = c.post(f"/api/problems/{code}/transitions", json={"action": "assign"})
        assert illegal.status_code == 409
        assert illegal.json()["allowed_actions"] == ["rebound"]
