"""Notice documents: HTML from ``notice_<kind>.html`` templates, Markdown for chats, PDF optional.

The templates live beside this module in ``gis/notices/templates`` (the scheduler renders a
notice when it issues it, so its document belongs to the notices package);
``LOOKBACK_NOTICES_TEMPLATES`` points elsewhere. The
context is plain JSON (stored with the notice), so a document can be rendered again identically.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gis import vocab
from gis.notices.config import get_notice_settings
from gis.notices.rules import COLOUR_LABELS, KINDS, ROLE_LABELS, TRIGGER_LABELS

PDF_CSS = 'html, body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; }'
MARKDOWN_LIMIT = 3800  # WeCom markdown content is at most 4096 bytes


def date_zh(day: date | str | None) -> str:
    """``2026年3月5日`` for a date or ISO text; empty for none."""
    if not day:
        return ""
    d = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    return f"{d.year}年{d.month}月{d.day}日"


@lru_cache(maxsize=4)
def _environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date_zh=date_zh)
    env.globals.update(field_label=vocab.field_label)
    return env


def situation(trigger: str, facts: dict[str, Any], colour: str | None) -> str:
    """One sentence saying why the notice is sent."""
    d = facts.get("days_overdue")
    due = facts.get("due_date")
    if trigger in ("warning", "days_before", "days_after") and d is not None:
        if d > 0:
            text = f"已超过整改期限（{date_zh(due)}）{d}天，仍未完成整改"
        elif d == 0:
            text = f"今日（{date_zh(due)}）到整改期限，尚未完成整改"
        else:
            text = f"距整改期限（{date_zh(due)}）还有{-d}天，尚未完成整改"
        return f"{text}，列为{COLOUR_LABELS[colour]}" if colour else text
    if trigger == "rebound":
        return f"销号后再次发现问题，已第{facts.get('rebound_count', 1)}次反弹，须重新整改"
    if trigger == "suspected_rebound":
        source = f"信访件{facts['complaint_code']}" if facts.get("complaint_code") else "巡查发现"
        return (
            f"销号{facts.get('days_since_closed')}天后，在问题点位{facts.get('distance_m')}米范围内"
            f"又出现同类{source}，疑似反弹，请尽快核实认定"
        )
    if trigger == "off_site":
        who = facts.get("inspector") or "巡查人员"
        dist = facts.get("distance_m")
        where = f"距问题点位约{dist:g}米" if isinstance(dist, int | float) else "偏离问题点位"
        return f"{who}的巡查打卡位置{where}，超出允许范围，存在异地打卡嫌疑，请核实"
    if trigger == "complaint_due":
        return (
            f"信访件{facts.get('complaint_code')}的反馈期限为{date_zh(facts.get('feedback_due'))}"
            f"（还剩{facts.get('days_left')}天），尚未向信访人反馈"
        )
    return TRIGGER_LABELS.get(trigger, trigger)


def build_context(
    *,
    number: str,
    kind: str,
    trigger: str,
    rule: str,
    colour: str | None,
    issued_on: date,
    facts: dict[str, Any],
    problem: dict[str, Any] | None,
    complaint: dict[str, Any] | None,
    recipients: list[dict[str, Any]],
    notice_id: int | None = None,
) -> dict[str, Any]:
    """The JSON context of a notice document."""
    settings = get_notice_settings()
    title, _, title_en = KINDS[kind]
    addressees: list[str] = []
    if problem and problem.get("responsible_unit"):
        addressees.append(problem["responsible_unit"])
    if (
        problem
        and problem.get("township_name")
        and "township_head" in {r["role"] for r in recipients}
    ):
        addressees.append(f"{problem['township_name']}人民政府")
    if not addressees and complaint and complaint.get("township_name"):
        addressees.append(f"{complaint['township_name']}人民政府")
    if not addressees or trigger in ("suspected_rebound", "off_site"):
        addressees.append("县督察整改办")
    link = ""
    if settings.link_base and notice_id is not None:
        link = f"{settings.link_base.rstrip('/')}/api/notices/{notice_id}/document"
    return {
        "number": number,
        "kind": kind,
        "title": title,
        "title_en": title_en,
        "colour": colour,
        "colour_label": COLOUR_LABELS.get(colour or "", ""),
        "trigger": trigger,
        "trigger_label": TRIGGER_LABELS.get(trigger, trigger),
        "rule": rule,
        "issued_on": issued_on.isoformat(),
        "issuer": settings.issuer,
        "situation": situation(trigger, facts, colour),
        "facts": facts,
        "problem": problem,
        "complaint": complaint,
        "addressees": list(dict.fromkeys(addressees)),
        "recipients": [
            {
                "name": r["name"],
                "role": r["role"],
                "role_label": ROLE_LABELS.get(r["role"], r["role"]),
                "unit": r.get("unit", ""),
            }
            for r in recipients
        ],
        "link": link,
    }


def render_html(context: dict[str, Any], templates: Path | None = None) -> str:
    """The notice document as one self-contained HTML page."""
    folder = templates or get_notice_settings().templates
    env = _environment(Path(folder))
    return env.get_template(f"notice_{context['kind']}.html").render(n=context)


def render_markdown(context: dict[str, Any]) -> str:
    """The notice as Markdown for group-chat robots and the plain-text part of e-mails."""
    p, c = context.get("problem"), context.get("complaint")
    lines = [f"### {context['number']} {context['title']}", "", f"**{context['situation']}**", ""]
    if p:
        lines.append(f"- 问题编号：{p['code']}（{p.get('category_label', '')}）")
        if p.get("township_name"):
            lines.append(f"- 属地：{p['township_name']}")
        if p.get("responsible_unit") or p.get("responsible_person"):
            lines.append(
                f"- 责任单位/责任人：{p.get('responsible_unit') or '—'} / "
                f"{p.get('responsible_person') or '—'}"
            )
        if p.get("due_date"):
            lines.append(f"- 整改期限：{p['due_date']}")
        if context.get("colour_label"):
            lines.append(f"- 预警等级：{context['colour_label']}")
    if c:
        lines.append(f"- 信访件：{c['code']}，反馈期限 {c.get('feedback_due') or '—'}")
    if p and p.get("description"):
        lines += ["", f"> {p['description'][:150]}"]
    lines += ["", f"{context['issuer']}　{date_zh(context['issued_on'])}"]
    if context.get("link"):
        lines.append(f"[查看通知全文]({context['link']})")
    markdown = "\n".join(lines)
    encoded = markdown.encode()
    if len(encoded) > MARKDOWN_LIMIT:
        markdown = encoded[:MARKDOWN_LIMIT].decode(errors="ignore") + "…"
    return markdown


def pdf_available() -> bool:
    """Whether WeasyPrint can be imported (PDF output is optional)."""
    return importlib.util.find_spec("weasyprint") is not None


def render_pdf(html: str) -> bytes:
    """The notice HTML as PDF (needs WeasyPrint); ``RuntimeError`` when it is missing."""
    if not pdf_available():
        raise RuntimeError("PDF needs WeasyPrint (pip install weasyprint)")
    from weasyprint import CSS, HTML

    return HTML(string=html, url_fetcher=local_url_fetcher()).write_pdf(
        stylesheets=[CSS(string=PDF_CSS)]
    )


def local_url_fetcher() -> Any:
    """WeasyPrint's fetcher for notices: ``data:`` URIs and files of the templates folder only.

    A notice's text comes from the ledger; an ``<img>`` or stylesheet link in it must not make
    the server fetch from the network or read other local files while typesetting. Refused
    resources are left out of the PDF (``fetch`` raises :class:`ValueError`).
    """
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher

    allowed = get_notice_settings().templates.resolve()

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if not path.is_relative_to(allowed):
                    raise ValueError(f"notice PDFs load no external resource ({path})")
            elif scheme != "data":
                raise ValueError(f"notice PDFs load no external resource ({scheme}:)")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=("data", "file"), allow_redirects=False)
