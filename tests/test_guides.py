"""The user guides (docs/guide/): every link and picture they name exists, and every `lookback`
command they show is a real command with real options (guides must not invent any)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from server.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "docs" / "guide"
NAMES = ("README.md", "office.md", "township.md", "inspector.md", "command-centre.md", "admin.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _commands(markdown: str) -> list[str]:
    """The `lookback …` lines of the guide's shell blocks and inline code."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        lines += [line.split("#", 1)[0].strip() for line in block.splitlines()]
    lines += re.findall(r"`((?:[A-Z_]+=\S+ )?lookback [^`]+)`", markdown)
    return [line for line in lines if re.match(r"(?:[A-Z_]+=\S+ )?lookback ", line)]


def _is_group(command) -> bool:  # type: ignore[no-untyped-def]
    return hasattr(command, "list_commands")


def _resolve(words: list[str]):  # type: ignore[no-untyped-def]
    """The command ``words`` name (walking the groups) and the words left for it."""
    command = typer.main.get_command(app)
    rest = words
    while _is_group(command) and rest and not rest[0].startswith("-"):
        sub = command.get_command(command.context_class(command), rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


@pytest.mark.parametrize("name", NAMES)
def test_guide_links_and_pictures_exist(name: str) -> None:
    path = GUIDES / name
    text = path.read_text(encoding="utf-8")
    assert CJK.search(text.splitlines()[0]), "a guide's title is Chinese first"
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    assert targets, "a guide links to something"
    for target in targets:
        file = target.split("#", 1)[0]
        if file:
            assert (path.parent / file).resolve().exists(), f"{name}: {target}"
    for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert picture.endswith(".png") and (path.parent / picture).exists(), picture


def test_the_index_lists_every_guide_and_the_readme_links_it() -> None:
    index = (GUIDES / "README.md").read_text(encoding="utf-8")
    for name in NAMES[1:]:
        assert f"]({name})" in index, name
    assert "](docs/guide/README.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_in_the_guides_exists_with_its_options() -> None:
    seen = 0
    for name in NAMES:
        for line in _commands((GUIDES / name).read_text(encoding="utf-8")):
            words = shlex.split(line.replace("…", "x").replace("$(date +%F)", "today"))
            words = words[words.index("lookback") + 1 :]
            command, rest = _resolve(words)
            if _is_group(command):  # only `lookback --help` may name a group
                assert rest == ["--help"], f"{name}: no such command: {line}"
            options = {"--help"} | {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            for word in rest:
                if word.startswith("-"):
                    assert word.split("=", 1)[0] in options, f"{name}: {line}: {word}"
            seen += 1
    assert seen >= 15
