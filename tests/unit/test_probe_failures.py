"""A probe that failed is a harness error, never a finding: the in-container resolver script run
through nsenter, exception groups out of task groups, and the session's `site` fixture."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

import suites.plugin.site as suites_conftest
from probes import resolver
from probes.docker import DockerEndpoint, NetworkInfo, ProbeContainer
from probes.errors import (
    DockerUnavailable,
    HarnessError,
    NetnsError,
    ProbeError,
    harness_errors,
    leaves,
    one_line,
)
from suites.plugin.parts import ALL
from suites.plugin.survey import Survey

NETWORK = NetworkInfo("bridge", "n0", "bridge", True, "docker0", ("2001:db8:1::/64",), ())
NSENTER_SAYS = "nsenter: cannot open /proc/123/ns/mnt: No such file or directory"


def container(pid: int) -> ProbeContainer:
    return ProbeContainer("v6conform-1a2b-bridge", "c0", NETWORK, pid, "eth0", None, None, None)


def dead_pid() -> int:
    """A process id no process has (pid_max is at most 2**22)."""
    pid = 4_194_000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def framed(*lines: str) -> str:
    return "\n".join([resolver.BEGIN, *lines, resolver.END]) + "\n"


REPORT = framed(
    f"resolv {b64('nameserver 2001:db8:53::53' + chr(10))}",
    f"route6 {b64('default via fe80::1 dev eth0' + chr(10))}",
    f"lookup 0 1.00 1.10 0 {b64('PING www.lab.example (2001:db8::80): 65535 data bytes')}",
    f"server 0 1.00 1.05 0 {b64('2001:db8:53::53')} {b64('Name: www.lab.example')}",
)


def canned(status: int | None, out: str, err: str = "") -> Callable[..., Any]:
    async def run(argv: list[str], *, timeout: float, where: str) -> tuple[int | None, str, str]:
        return status, out, err

    return run


# -- the resolver script through nsenter -----------------------------------------------------


async def test_a_container_that_is_gone_is_a_probe_error_not_its_resolv_conf() -> None:
    """The real nsenter, on a process that does not exist: its complaint is no resolv.conf."""
    with pytest.raises(ProbeError) as caught:
        await resolver.in_container(container(dead_pid()), ("www.lab.example",), deadline=0.5)
    err = caught.value
    assert isinstance(err, HarnessError)
    assert err.where == "container v6conform-1a2b-bridge"
    assert "nsenter exited with status 1" in err.reason
    assert "nsenter: cannot open /proc/" in err.reason  # nsenter's own words, as the reason
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("status", "out", "err", "says"),
    [
        # nsenter failed: what it wrote must not be read as the container's resolv.conf
        (1, "", NSENTER_SAYS, f"nsenter exited with status 1: {NSENTER_SAYS}"),
        (1, NSENTER_SAYS + "\n", "", "nsenter exited with status 1"),
        (127, "", "nsenter: failed to execute /bin/sh: No such file or directory", "status 127"),
        # exit 0, but not the script's report: not framed by its markers
        (
            0,
            NSENTER_SAYS + "\n",
            "",
            "does not start with the script's marker 'v6conform-resolver'",
        ),
        (0, "", "", "it printed nothing"),
        (0, REPORT.replace(resolver.END + "\n", ""), "", "stops before the script's end marker"),
        (0, "resolv bmFtZXNlcnZlciAxOjoxCg==\ndone\n", "", "does not start with the script's"),
        # killed at the timeout, halfway through
        (None, framed()[:30], "", "did not finish within 10.5 s (killed there)"),
    ],
)
async def test_failures_of_nsenter_or_the_script_are_probe_errors(
    monkeypatch: pytest.MonkeyPatch, status: int | None, out: str, err: str, says: str
) -> None:
    monkeypatch.setattr(resolver, "_run", canned(status, out, err))
    with pytest.raises(ProbeError, match=r"^container v6conform-1a2b-bridge: ") as caught:
        await resolver.in_container(container(1), ("www.lab.example",), deadline=0.5)
    assert says in caught.value.reason
    assert "\n" not in caught.value.reason


async def test_a_framed_report_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # what the script writes to stderr on the way (a missing file, say) does not spoil it
    monkeypatch.setattr(resolver, "_run", canned(0, REPORT, "sh: can't kill pid 7"))
    report = await resolver.in_container(container(1), ("www.lab.example",), deadline=0.5)
    assert report.complete
    assert [str(ns) for ns in report.resolv_conf.used_nameservers] == ["2001:db8:53::53"]
    assert report.lookups[0].address == "2001:db8::80"
    assert report.servers[0].answered


def test_the_script_prints_its_markers_first_and_last() -> None:
    commands = [line for line in resolver.SCRIPT.strip().splitlines() if line.strip()]
    assert commands[0] == f"echo {resolver.BEGIN}"
    assert commands[-1] == f"echo {resolver.END}"
    assert resolver.framing_problem(framed()) is None


async def test_no_nsenter_is_a_probe_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def missing(*argv: str, **kwargs: Any) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", missing)
    with pytest.raises(ProbeError, match="cannot run nsenter: No such file or directory"):
        await resolver.in_container(container(1), (), deadline=0.5)


# -- exception groups ------------------------------------------------------------------------


def test_harness_errors_are_found_in_nested_groups() -> None:
    a = ProbeError("container a", "gone")
    b = NetnsError("container b", "cannot enter it")
    group = ExceptionGroup(
        "tg", [a, ExceptionGroup("inner", [b, ProbeError("container a", "gone")])]
    )
    assert harness_errors(a) == [a]
    found = harness_errors(group)
    assert found is not None
    assert found[:2] == [a, b]
    assert len(leaves(group)) == 3
    assert one_line(group) == "container a: gone; network namespace container b: cannot enter it"
    # a bug in the group, or no harness error at all: not passed off as one
    assert harness_errors(ExceptionGroup("tg", [a, KeyError("x")])) is None
    assert harness_errors(KeyError("x")) is None
    assert harness_errors(asyncio.CancelledError()) is None


# -- the site fixture ------------------------------------------------------------------------


class FakeDocker:
    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> FakeDocker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def failing_fleet(*errors: BaseException) -> Callable[..., Any]:
    """A probe fleet whose containers fail to start, concurrently, as probe_fleet's do."""

    @contextlib.asynccontextmanager
    async def fleet(
        docker: FakeDocker, networks: list[NetworkInfo], run_id: str, with_image: bool
    ) -> AsyncIterator[list[ProbeContainer]]:
        async def start(error: BaseException) -> None:
            await asyncio.sleep(0)
            raise error

        async with asyncio.TaskGroup() as tg:
            for error in errors:
                tg.create_task(start(error))
        yield []

    return fleet


@pytest.fixture
def site_setup(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setattr(suites_conftest, "resolver_networks", lambda config: [NETWORK])

    async def nothing_stale(docker: object) -> list[str]:
        return []

    monkeypatch.setattr(suites_conftest, "remove_stale", nothing_stale)
    target = SimpleNamespace(
        docker_host="unix:///run/nowhere.sock", profile=SimpleNamespace(dad_timeout=0.1)
    )
    config = SimpleNamespace(stash=pytest.Stash())

    async def first(*errors: BaseException) -> object:
        monkeypatch.setattr(suites_conftest, "probe_fleet", failing_fleet(*errors))
        async with contextlib.AsyncExitStack() as stack:

            async def docker(_: Survey) -> FakeDocker:
                return FakeDocker(target.docker_host)

            parts = {p.name: p.probe for p in ALL} | {"docker_endpoint": docker}
            survey = Survey(config, target, stack, parts=parts)  # type: ignore[arg-type, dict-item]
            async with asyncio.TaskGroup() as tg:
                survey.group = tg
                site = survey.start("site")
            ok, value = site.result()  # kept as the survey keeps it: the fixture raises it
            if not ok:
                raise value
            return value

    return first


async def test_the_site_fixture_turns_a_task_groups_harness_errors_into_one_line(
    site_setup: Callable[..., Any],
) -> None:
    with pytest.raises(pytest.fail.Exception) as caught:
        await site_setup(
            DockerUnavailable("unix:///run/nowhere.sock", "container create: 409 Conflict"),
            DockerUnavailable("unix:///run/nowhere.sock", "container create: 409 Conflict"),
            NetnsError("container v6conform-1a2b-v6net", "cannot enter it"),
        )
    assert str(caught.value.msg) == (
        "harness error: Docker at unix:///run/nowhere.sock: container create: 409 Conflict; "
        "network namespace container v6conform-1a2b-v6net: cannot enter it"
    )
    assert not caught.value.pytrace


async def test_the_site_fixture_does_not_hide_a_bug_among_harness_errors(
    site_setup: Callable[..., Any],
) -> None:
    with pytest.raises(BaseExceptionGroup) as caught:
        await site_setup(ProbeError("container a", "gone"), KeyError("missing"))
    kinds = {type(e) for e in leaves(caught.value)}
    # raised as it came: the bug keeps its traceback (the plugin lists what is inside)
    assert kinds == {KeyError, ProbeError}


# -- what the checks make of it --------------------------------------------------------------

# a check shaped like RC-01: the reports of every container, asked at once in a task group
RC_LIKE = """
import asyncio
import pytest
from probes import resolver
from probes.docker import DockerEndpoint, NetworkInfo, ProbeContainer
from reports.diagnosis import explain

NET = NetworkInfo("bridge", "n0", "bridge", True, "docker0", (), ())

@pytest.fixture(scope="session")
async def reports():
    gone = ProbeContainer("v6conform-1a2b-bridge", "c0", NET, {pid}, "eth0", None, None, None)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(resolver.in_container(gone, ("www.lab.example",), deadline=0.5))
    return [task.result()]

@pytest.mark.check("RC-01")
async def test_resolv_conf_is_usable(reports):
    for report in reports:
        if not report.resolv_conf.used_nameservers:
            pytest.fail(explain(f"{{report.where}}: no valid nameserver line", report.lines()))
"""


def test_a_container_that_is_gone_fails_no_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checks=RC_LIKE.format(pid=dead_pid()))
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
    )
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    assert result.ret == 3  # the harness could not look: no verdict on the host
    junit = (out / "junit.xml").read_text()
    assert "<failure" not in junit
    assert "<error" in junit
    assert "no valid nameserver line" not in junit
    result.stdout.fnmatch_lines(
        [
            "*RC-01 resolv_conf_is_usable ?host?: harness error: container v6conform-1a2b-bridge: "
            "the resolver script could not run: nsenter exited with status 1: nsenter: cannot open "
            "/proc/*",
            "*exit status 3: not a verdict on the host*",
        ]
    )


def test_a_resolv_conf_the_parser_breaks_on_is_a_probe_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RC-01, RC-02, DNS-03 judge the resolv.conf the script printed: where the parser itself
    breaks on it, the probe failed (a harness error), the container's file is not broken."""

    def broken(self: object, data: object) -> None:
        raise IndexError("a bug")

    monkeypatch.setattr("probes.resolvconf._Parser.parse", broken)
    with pytest.raises(ProbeError, match=r"internal error in the resolv\.conf parser"):
        resolver.parse_report(REPORT, where="container c0", names=(), family="IPv6", deadline=1.0)


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (aiohttp.ClientOSError(), "ClientOSError (no message)"),
        (aiohttp.ServerDisconnectedError(), "Server disconnected"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "[Errno 104] Connection reset by peer",
        ),
    ],
)
async def test_a_failed_daemon_call_says_what_failed_even_when_the_error_is_bare(
    raised: Exception, words: str
) -> None:
    async def fails() -> None:
        raise raised

    endpoint = DockerEndpoint("unix:///run/d.sock")
    with pytest.raises(DockerUnavailable) as caught:
        await endpoint.call(fails())
    assert caught.value.reason == f"cannot talk to the daemon: {words}"


async def test_a_daemon_call_past_its_deadline_says_so() -> None:
    """TimeoutError is an OSError: it must not read as "cannot talk to the daemon" (a CI run
    printed "cannot talk to the daemon: TimeoutError (no message)" for a slow removal)."""

    async def slow() -> None:
        await asyncio.sleep(5)

    endpoint = DockerEndpoint("unix:///run/d.sock", timeout=0.05)
    with pytest.raises(DockerUnavailable) as caught:
        await endpoint.call(slow())
    assert caught.value.reason == "no answer within 0.05 s"
    with pytest.raises(DockerUnavailable) as caught:
        await endpoint.call(slow(), 0.01)
    assert caught.value.reason == "no answer within 0.01 s"
