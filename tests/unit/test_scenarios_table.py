"""The scenario table the detection matrix is held to."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

import lab.scenarios
from lab.dockers import GENERATIONS
from lab.scenarios import SCENARIOS, Scenario

CHECK_ID = re.compile(r"^(GW|RT|PMTU|DNS|NAT64|EP|RA|RC|AF)-\d\d$")


def _declared_names() -> list[str]:
    """Scenario names as written in the source: the dict would silently fold duplicates."""
    tree = ast.parse(Path(lab.scenarios.__file__).read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Scenario"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_names_are_unique():
    names = _declared_names()
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_is_well_formed(name):
    scenario = SCENARIOS[name]
    assert scenario.name == name
    assert scenario.summary.strip()
    assert isinstance(scenario.expected_failures, frozenset)
    bad = [i for i in scenario.expected_failures if not CHECK_ID.match(i)]
    assert not bad, f"{name}: malformed check IDs {bad}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_per_generation_expectations_say_why(name):
    scenario = SCENARIOS[name]
    assert scenario.generations, name
    assert scenario.generations <= set(GENERATIONS), name
    assert set(scenario.expected_by_generation) == set(scenario.differs_because), name
    assert set(scenario.expected_by_generation) <= scenario.generations, name
    for generation, checks in scenario.expected_by_generation.items():
        assert checks != scenario.expected_failures, (name, generation)  # else why say it
        assert all(CHECK_ID.match(i) for i in checks), (name, generation)
        assert scenario.differs_because[generation].strip()


def test_healthy_expects_nothing():
    assert SCENARIOS["healthy"].expected_failures == frozenset()
    assert SCENARIOS["healthy"] == Scenario("healthy", SCENARIOS["healthy"].summary)


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"healthy"}))
def test_scenario_differs_from_healthy(name):
    """A scenario that changes no knob would build the healthy site under another name."""
    healthy = SCENARIOS["healthy"]
    knobs = dataclasses.replace(
        SCENARIOS[name],
        name=healthy.name,
        summary=healthy.summary,
        expected_failures=healthy.expected_failures,
    )
    assert knobs != healthy


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_root_causes_are_failures_the_scenario_must_have(name):
    sc = SCENARIOS[name]
    for gen in sc.generations:
        causes, expected = sc.causes_on(gen), sc.expected_on(gen)
        assert causes <= expected, (gen, causes - expected)
        # a broken scenario names its cause; a healthy one has none
        assert bool(causes) == bool(expected), gen
    assert set(sc.root_causes_by_generation) <= sc.generations
