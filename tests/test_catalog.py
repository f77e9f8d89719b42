"""README's check catalog and the suites cannot drift apart; the docs' profile example loads,
and every link of README.md and docs/ stays in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def implemented_in_suites() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "suites").glob("test_*.py"):
        ids |= set(re.findall(r'@pytest\.mark\.check\("([A-Z][A-Z0-9]*-\d\d)"\)', path.read_text()))
    return ids


def readme_catalog() -> dict[str, str]:
    rows = re.findall(
        r"^\| ([A-Z][A-Z0-9]*-\d\d) \| .* \| (\w+) \|$",
        (ROOT / "README.md").read_text(),
        flags=re.M,
    )
    return dict(rows)


def test_readme_marks_exactly_the_implemented_checks() -> None:
    catalog = readme_catalog()
    implemented = implemented_in_suites()
    assert implemented, "no check found in suites/"
    assert {i for i, status in catalog.items() if status == "implemented"} == implemented


def test_each_check_names_the_rule_its_check_holds_and_the_probes_it_reads() -> None:
    """From the catalog a reader reaches a check's rule in one hop, and the probes it reads in
    one more: the rule exists, the check in suites/ calls it, the probe modules exist."""
    import importlib

    rows = re.findall(
        r"^\| ([A-Z][A-Z0-9]*-\d\d) \| .* \| ((?:`rules/\w+\.py` `\w+`(?:, )?)+) ← (.*) "
        r"\| implemented \|$",
        (ROOT / "README.md").read_text(),
        flags=re.M,
    )
    assert {r[0] for r in rows} == implemented_in_suites()
    checks = {}
    for path in (ROOT / "suites").glob("test_*.py"):
        for block in re.split(r'(?=@pytest\.mark\.check\(")', path.read_text())[1:]:
            check = re.match(r'@pytest\.mark\.check\("([^"]+)"\)', block)
            assert check is not None
            checks[check.group(1)] = checks.get(check.group(1), "") + block
    for check, rules, probes in rows:
        for module, rule in re.findall(r"`rules/(\w+)\.py` `(\w+)`", rules):
            assert callable(getattr(importlib.import_module(f"rules.{module}"), rule)), check
            assert re.search(rf"\b{rule}\(", checks[check]), f"{check} does not call {rule}"
        for probe in re.findall(r"`probes/(\w+)(?:\.py|/)`", probes):
            module = ROOT / "probes" / f"{probe}.py"
            package = ROOT / "probes" / probe / "__init__.py"
            assert module.is_file() or package.is_file(), (check, probe)


def test_every_expected_failure_is_in_the_catalog() -> None:
    from lab import SCENARIOS

    catalog = readme_catalog()
    for scenario in SCENARIOS.values():
        assert scenario.expected_failures <= set(catalog), scenario.name
        for generation, checks in scenario.expected_by_generation.items():
            assert checks <= set(catalog), (scenario.name, generation)


def test_docs_example_profile_loads_with_every_key(tmp_path: Path) -> None:
    from dataclasses import fields

    from probes.profile import Profile, load_profile

    section = (ROOT / "docs" / "profile.md").read_text()
    example = re.search(r"```toml\n(.*?)```", section, flags=re.S)
    assert example, "docs/profile.md has no TOML example"
    path = tmp_path / "host.toml"
    path.write_text(example[1])
    profile = load_profile(path)
    top = example[1].split("[[", 1)[0]
    keys = set(re.findall(r"^([a-z_0-9]+) =", top, flags=re.M))
    keys |= set(re.findall(r"^\[\[([a-z_]+)\]\]", example[1], flags=re.M))
    missing = "docs/profile.md's example misses keys"
    assert keys == {f.name for f in fields(Profile)} - {"source"}, missing
    assert profile.names[0].dual_stack is True


def test_every_link_of_the_docs_is_relative_and_in_the_repository() -> None:
    """README.md and docs/ link only to files of this repository, by relative paths, and each
    file (and image) they name exists."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 1
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            assert "://" not in target, (page.name, target)
            assert not target.startswith("/"), (page.name, target)
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT), (page.name, target)
            assert path.exists(), (page.name, target)
    assert "docs/report.png" in (ROOT / "README.md").read_text()
