"""Sections that later stages add to docs/clinical-rules.md.

``register_section(fn)`` with ``fn() -> list[str]`` (Markdown lines): the generator
appends each after the intake's rules, so the document lists every clinical number in
one place while this earlier app imports nothing of theirs (the infusion day registers
its thresholds from its AppConfig.ready). Registering the same function twice keeps one.
"""

from __future__ import annotations

from collections.abc import Callable

Section = Callable[[], list[str]]
_SECTIONS: list[Section] = []


def register_section(fn: Section) -> Section:
    if fn not in _SECTIONS:
        _SECTIONS.append(fn)
    return fn


def section_lines() -> list[str]:
    lines: list[str] = []
    for fn in _SECTIONS:
        lines += fn()
    return lines
