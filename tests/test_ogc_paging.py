"""OGC API paging by key: next/prev links, offset still accepted, derived fields as filtered."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis.ledger.deadlines import overdue_sql, warning_sql
from tests.conftest import DEMO_AS_OF
from tests.test_ogc import _all_pages, _items, _rel, _scalar, client  # noqa: F401 - fixture


def _query(link: dict) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link["href"]).query)


def test_next_links_carry_the_key_and_number_matched(client: TestClient) -> None:  # noqa: F811
    first = _items(client, "problems", limit=25, status="closed,rebounded")
    nxt = _query(_rel(first, "next")[0])
    assert "offset" not in nxt
    assert nxt["after"] and nxt["matched"] == [str(first["numberMatched"])]
    assert nxt["status"] == ["closed,rebounded"]
    features, pages = _all_pages(client, _rel(first, "next")[0]["href"])
    everything = first["features"] + features
    assert len(everything) == first["numberMatched"]
    assert len({f["id"] for f in everything}) == len(everything)
    assert {p["numberMatched"] for p in pages} == {first["numberMatched"]}


def test_prev_link_returns_the_page_before(client: TestClient) -> None:  # noqa: F811
    first = _items(client, "inspections", limit=10)
    second = client.get(_rel(first, "next")[0]["href"]).json()
    third = client.get(_rel(second, "next")[0]["href"]).json()
    back = client.get(_rel(third, "prev")[0]["href"]).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in second["features"]]
    again = client.get(_rel(back, "prev")[0]["href"]).json()
    assert [f["id"] for f in again["features"]] == [f["id"] for f in first["features"]]
    assert not _rel(again, "prev")
    assert not _rel(first, "prev")


def test_offset_is_still_accepted_and_then_pages_by_key(client: TestClient) -> None:  # noqa: F811
    whole = _items(client, "townships", limit=1000)["features"]
    page = _items(client, "townships", limit=3, offset=4)
    assert [f["id"] for f in page["features"]] == [f["id"] for f in whole[4:7]]
    assert page["numberMatched"] == len(whole)
    nxt = _rel(page, "next")
    if len(whole) > 7:
        following = client.get(nxt[0]["href"]).json()
        assert [f["id"] for f in following["features"]] == [f["id"] for f in whole[7:10]]


def test_bad_keys_are_400(client: TestClient) -> None:  # noqa: F811
    r = client.get("/ogc/collections/problems/items", params={"after": "x'; --"})
    assert r.status_code == 400
    r = client.get("/ogc/collections/problems/items", params={"matched": "-1"})
    assert r.status_code == 400


def test_derived_fields_in_pages_agree_with_their_filters(
    client: TestClient, demo_engine: Engine  # noqa: F811
) -> None:
    features, _ = _all_pages(client, "/ogc/collections/problems/items?limit=500")
    overdue = {f["id"] for f in features if f["properties"]["overdue"]}
    red = {f["id"] for f in features if f["properties"]["warning"] == "red"}
    assert len(overdue) == _scalar(
        demo_engine, f"SELECT count(*) FROM problems p WHERE {overdue_sql('p')}", today=DEMO_AS_OF
    ) > 0
    assert len(red) == _scalar(
        demo_engine, f"SELECT count(*) FROM problems p WHERE {warning_sql('p')} = 'red'",
        today=DEMO_AS_OF,
    )
    filtered, _ = _all_pages(client, "/ogc/collections/problems/items?limit=500&overdue=true")
    assert {f["id"] for f in filtered} == overdue
