"""Where browser tests put screenshots: a temporary folder, or ``docs/`` when asked.

Set ``LOOKBACK_SCREENSHOTS=docs`` (or any folder) to refresh the pictures the documentation
shows; an ordinary test run writes them to a temporary folder and leaves ``docs/`` alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def screenshot_dir() -> Path:
    target = os.environ.get("LOOKBACK_SCREENSHOTS")
    if target:
        folder = Path(target)
        folder = folder if folder.is_absolute() else ROOT / folder
    else:
        folder = Path(tempfile.gettempdir()) / "lookback-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, name: str, *, full_page: bool = False) -> Path:  # type: ignore[no-untyped-def]
    path = screenshot_dir() / name
    page.screenshot(path=str(path), full_page=full_page)
    return path
