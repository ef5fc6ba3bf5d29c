"""What a citation in a page or document must resolve to: a numbered section of docs/rules.md
(`§A.3.2`, ranges `§A.4-A.9` check both ends) or a file of the repository (`docs/NAME.md`), and
never the design notes outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "docs" / "rules.md"
_SECTION = r"[AB]\.\d+(?:\.\d+)*"
_CITED = re.compile(rf"§({_SECTION})(?:\s*[-–]\s*§?({_SECTION}))?")
_FILES = re.compile(r"(?<![\w/.])((?:docs|experiments|benchmarks|market|model|ledger|batch_runs|tests|agents)/[\w./-]+\.(?:md|py|yaml))\b")
_OUTSIDE = re.compile(r"\bSPEC\b|shared/|DESIGN\.md")


def rules_sections() -> set[str]:
    """The section numbers docs/rules.md has a heading for."""
    return {m.group(1) for m in re.finditer(rf"^#+ ({_SECTION}) ", RULES.read_text(), re.MULTILINE)}


def unresolved(text: str) -> list[str]:
    """Citations in `text` that resolve to nothing in the repository, and mentions of what is outside it."""
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "", text)  # embedded figures are not text
    sections = rules_sections()
    bad = [f"§{s}" for m in _CITED.finditer(text) for s in m.groups() if s and s not in sections]
    bad += [f for f in _FILES.findall(text) if not (ROOT / f.rstrip(".")).exists()]
    return bad + [m.group(0) for m in _OUTSIDE.finditer(text)]
