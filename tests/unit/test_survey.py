"""The survey: parts start at once, each waits only for what it needs, and one part's skip,
failure or bug stays with the items that asked for it."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import pytest

from suites.plugin import survey as survey_module
from suites.plugin.keys import PartKey
from suites.plugin.survey import Survey, surveyed


@pytest.fixture
def parts() -> dict[str, Any]:
    """The run's parts, by name: what a Survey is made with."""
    return {}


def key(name: str) -> PartKey[Any]:
    return PartKey(name)


async def run(names: list[str], parts: dict[str, Any]) -> Survey:
    async with contextlib.AsyncExitStack() as stack:
        found = Survey(SimpleNamespace(stash=pytest.Stash()), None, stack, parts=parts)  # type: ignore[arg-type]
        async with asyncio.TaskGroup() as tg:
            found.group = tg
            for name in names:
                found.start(name)
        found.group = None
        return found


async def test_parts_overlap_and_the_run_waits_for_the_longest_once(
    parts: dict[str, Any],
) -> None:
    async def slow(s: Survey) -> str:
        await asyncio.sleep(0.3)
        return "slow"

    async def also_slow(s: Survey) -> str:
        await asyncio.sleep(0.3)
        return "also"

    async def needs_slow(s: Survey) -> str:
        return "after " + str(await s.get(key("slow")))

    parts.update(slow=slow, also_slow=also_slow, needs_slow=needs_slow)
    found = await run(["slow", "also_slow", "needs_slow"], parts)
    assert found.outcome("needs_slow") == "after slow"
    assert found.outcome("also_slow") == "also"
    first, second, after = (found.timings[n] for n in ("slow", "also_slow", "needs_slow"))
    # both ran side by side (each began before the other ended); the dependent one waited
    assert second.started < (first.ended or 0)
    assert first.started < (second.ended or 0)
    assert (after.ended or 0) >= (first.ended or 0)
    assert "slow" in found.figures()


async def test_a_skip_reaches_whoever_needs_the_part_and_maybe_turns_it_into_a_reason(
    parts: dict[str, Any],
) -> None:
    async def site(s: Survey) -> str:
        pytest.skip("the Docker daemon has no bridge network with IPv6 enabled")

    async def strict(s: Survey) -> str:
        return str(await s.get(key("site")))

    async def lenient(s: Survey) -> str:
        return "without: " + str(await s.maybe(key("site")))

    parts.update(site=site, strict=strict, lenient=lenient)
    found = await run(["strict", "lenient"], parts)
    with pytest.raises(pytest.skip.Exception, match="no bridge network"):
        found.outcome("strict")
    assert found.outcome("lenient").startswith("without: the Docker daemon")


async def test_a_bug_in_one_part_is_raised_for_its_items_only(parts: dict[str, Any]) -> None:
    async def broken(s: Survey) -> str:
        raise KeyError("missing")

    async def fine(s: Survey) -> str:
        await asyncio.sleep(0.05)
        return "fine"

    async def failed(s: Survey) -> str:
        pytest.fail("harness error: Docker at unix:///x: gone", pytrace=False)

    parts.update(broken=broken, fine=fine, failed=failed)
    found = await run(["broken", "fine", "failed"], parts)
    assert found.outcome("fine") == "fine"
    with pytest.raises(KeyError):
        found.outcome("broken")
    with pytest.raises(pytest.fail.Exception, match="harness error"):
        found.outcome("failed")


async def test_a_part_nobody_asked_for_was_never_run(parts: dict[str, Any]) -> None:
    ran: list[str] = []

    async def asked(s: Survey) -> None:
        ran.append("asked")

    async def not_asked(s: Survey) -> None:
        ran.append("not asked")

    parts.update(asked=asked, not_asked=not_asked)
    found = await run(["asked"], parts)
    assert ran == ["asked"]
    with pytest.raises(RuntimeError, match="no collected item asked for it"):
        found.outcome("not_asked")


def test_wanted_reads_the_collected_items_fixture_closures(parts: dict[str, Any]) -> None:
    parts.update(routers=None, site=None, build_steps=None)
    session = SimpleNamespace(
        items=[SimpleNamespace(fixturenames=["survey", "routers"]), SimpleNamespace()]
    )
    assert survey_module.wanted(session, parts) == ["routers"]  # type: ignore[arg-type]


def test_a_part_is_named_as_its_typed_key() -> None:
    async def site(s: Survey) -> str:
        return "site"

    part = surveyed(PartKey("site"))(site)
    assert part.name == "site"
    assert part.probe is site
    with pytest.raises(TypeError, match="not named as its key"):
        surveyed(PartKey("uplink"))(site)
