"""One base for every error the domain raises, and the kind of failure each one is.

Every exception class in ``gis/`` derives from :class:`LookbackError` (and keeps its Python base,
e.g. ``ValueError``, so existing ``except`` clauses still hold). Its ``kind`` says what went wrong
in words the domain knows — bad input, not found, a conflict with the current state, a refusal,
a failure of the machinery — and ``server/errors.py`` maps each kind to an HTTP status in one
table, registered once on the app. ``details()`` gives the extra fields an answer carries (the
offending field, the actions allowed from the current status).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Kind = Literal["invalid", "not_found", "conflict", "refused", "too_large", "unsupported", "failed"]


class LookbackError(Exception):
    """Base of the domain's errors; ``kind`` classifies the failure."""

    kind: ClassVar[Kind] = "invalid"

    def details(self) -> dict[str, Any]:
        """Extra fields for an answer (none by default)."""
        return {}
