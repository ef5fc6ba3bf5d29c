"""Every citation a user meets resolves inside the repository: README, docs/, the scenario's
field descriptions (`scenario show --explain`); the generated pages are checked where they are
made (test_report, test_paper_experiment, batch/test_cli)."""

from __future__ import annotations

import pytest

from citations import ROOT, rules_sections, unresolved
from experiments.cli import main
from model.explain import cited_sections
from model.scenario import load


def test_rules_has_the_sections_of_the_paper_and_the_related_designs():
    sections = rules_sections()
    assert {f"A.{i}" for i in range(1, 14)} <= sections and {f"B.{i}" for i in range(1, 5)} <= sections


@pytest.mark.parametrize("path", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))])
def test_documents_cite_only_what_the_repository_has(path):
    assert unresolved((ROOT / path).read_text()) == []


def test_every_field_explained_cites_a_section_that_exists(capsys):
    scenario = load("paper-4dn")
    assert cited_sections(scenario) and cited_sections(scenario) <= rules_sections()
    assert main(["scenario", "show", "paper-4dn", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "mechanism.seller_concession = 0.25  | seller concession rate per round" in out
    assert "[A] §A.6.2" in out and unresolved(out) == []


def test_the_checker_catches_what_does_not_resolve():
    assert unresolved("see §A.99 and §A.4-A.77, docs/nothing.md and ../shared/SPEC.md") == [
        "§A.99", "§A.77", "docs/nothing.md", "shared/", "SPEC"]
    assert unresolved("see §A.4-A.9, §B.1.3 and docs/rules.md") == []
