"""What every workbench form does after it is posted: answer htmx or a plain browser, and say
what was refused in both languages. The rules themselves live in ``gis/``; these only answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.pages import page


def is_htmx(request: Request) -> bool:
    """The form was posted by htmx (a partial update), not by a plain browser form."""
    return bool(request.headers.get("hx-request"))


def form_done(request: Request, target: str) -> Response:
    """After a form succeeded: htmx follows ``HX-Redirect``, other clients a 303."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def form_refused(
    request: Request, template: str, context: dict[str, Any], *, partial: str | None = None
) -> HTMLResponse:
    """A refused form with the reasons beside its fields: htmx swaps in ``partial`` (or the
    page) with 200, other clients get the whole page with 422."""
    htmx = is_htmx(request)
    chosen = partial if htmx and partial else template
    return page(request, chosen, context, status_code=200 if htmx else 422)


def field_error(zh: str, en: str) -> dict[str, str]:
    """One field's reason, in both languages."""
    return {"zh": zh, "en": en}


def split_message(message: str) -> dict[str, str]:
    """A bilingual domain message ("中文 English") as its two halves, for the field's error."""
    cjk = [i for i, ch in enumerate(message) if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch]
    cut = cjk[-1] + 1 if cjk else 0
    zh, en = message[:cut].strip(), message[cut:].strip(" ：:")
    return field_error(zh or message, en or message)
