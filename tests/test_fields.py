"""The problem's fields have one table (``gis.vocab.PROBLEM_FIELDS``): the model, the API schema,
the edit rules, the Excel template and import, the workbench and the notices read it."""

from __future__ import annotations

from datetime import date

from gis import vocab
from gis.db.models import Problem
from gis.io.excel import HEADER_ALIASES, TEMPLATE_COLUMNS, TEXT_FIELDS, header_field
from gis.ledger.query import HISTORY_TEXT_FIELDS
from gis.ledger.writes import EDITABLE_FIELDS
from gis.notices.render import build_context, render_html
from server.routes.workbench import FIELD_LABELS
from server.schemas import ProblemCreate, ProblemPatch


def test_every_field_of_the_table_is_a_column_of_the_model() -> None:
    columns = set(Problem.__table__.columns.keys())
    for f in vocab.PROBLEM_FIELDS:
        assert (f.name if f.name != "geometry" else "geom") in columns, f.name


def test_the_edit_rules_and_the_api_follow_the_table() -> None:
    editable = {f.name for f in vocab.PROBLEM_FIELDS if f.editable}
    assert set(EDITABLE_FIELDS) == editable
    assert set(ProblemPatch.model_fields) == editable | {"reason", "geometry"}
    assert {f.name for f in vocab.PROBLEM_FIELDS if f.history_text} == set(HISTORY_TEXT_FIELDS)
    schema = ProblemPatch.model_json_schema()["properties"]
    assert schema["supervising_leader"]["description"] == "责任领导 Supervising leader"
    assert ProblemCreate.model_json_schema()["properties"]["measures"]["description"] == (
        "整改措施 Measures"
    )


def test_the_excel_template_reads_back_with_the_tables_headers() -> None:
    """Each field's template header is one the importer recognises as that field."""
    for name, header, _ in TEMPLATE_COLUMNS:
        f = vocab.PROBLEM_FIELD.get(name)
        if f is not None:
            assert header == f.sheet
        assert header_field(header) == name or header in HEADER_ALIASES.get(name, ()), name
    assert set(TEXT_FIELDS) <= {n for n, _, _ in TEMPLATE_COLUMNS}


def test_pages_and_notices_use_the_tables_labels() -> None:
    assert FIELD_LABELS["supervising_leader"] == ("责任领导", "Supervising leader")
    problem = {
        "code": "P-1", "category_label": "扬尘", "description": "裸土", "township_name": "东镇",
        "responsible_unit": "县住建局", "responsible_person": "王伟",
        "supervising_leader": "张三", "measures": "覆盖", "due_date": "2026-03-20",
        "status_label": "整改中", "warning": "none",
    }
    context = build_context(
        number="〔2026〕督办第1号", kind="supervision", trigger="warning", rule="r", colour=None,
        issued_on=date(2026, 3, 1), facts={}, problem=problem, complaint=None, recipients=[],
    )
    html = render_html(context)
    for name in ("code", "description", "supervising_leader", "measures", "deadline"):
        assert f"<th>{vocab.field_label(name)}</th>" in html, name
    assert "包保领导" not in html and "督办领导" not in html
