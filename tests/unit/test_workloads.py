"""The host's own containers: which ones --containers names, what Docker's inspect says of
them, and reading a file inside a container's root without ever leaving it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from probes.docker import NetworkInfo
from probes.workloads import (
    NothingSelected,
    Selector,
    SelectorError,
    is_harness_container,
    parse_selector,
    read_in_root,
    unmatched,
    workload_from_inspect,
)

V6NET = NetworkInfo("v6net", "n1", "bridge", True, "br-v6net", ("2001:db8:2::/64",), ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Selector("all")),
        ("all", Selector("all")),
        ("none", Selector("none")),
        ("web", Selector("names", ("web",))),
        ("web, /db", Selector("names", ("web", "db"))),
        ("label=tier", Selector("label", ("tier",))),
        ("label=tier=front", Selector("label", ("tier", "front"))),
        ("compose=shop", Selector("compose", ("shop",))),
    ],
)
def test_selectors(text: str | None, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["label=", "compose=", "web,,db", "a b", "label==x"])
def test_a_selector_that_names_nothing_is_one_clear_line(text: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    message = str(caught.value)
    assert text in message
    assert "\n" not in message
    assert "compose=PROJECT" in message  # says what would do


def test_selector_filters() -> None:
    assert parse_selector("compose=shop").label_filter() == ["com.docker.compose.project=shop"]
    assert parse_selector("label=tier=front").label_filter() == ["tier=front"]
    names = parse_selector("web,1a2b3c4d")
    assert names.matches("web", "ffff")
    assert names.matches("x", "1a2b3c4d5e")
    assert not names.matches("webby", "ffff")


def test_the_harness_own_containers_are_not_workloads() -> None:
    assert is_harness_container({"io.v6conform": "probe"})
    assert is_harness_container({"io.v6conform": "build"})
    # a user's container from an image this harness imported inherits its label's other value
    assert not is_harness_container({"io.v6conform": "image"})
    assert not is_harness_container({})


def _inspect(**state: object) -> dict[str, object]:
    return {
        "Id": "c0ffee" * 10,
        "Name": "/web-1",
        "State": {"Running": True, "Pid": os.getpid(), **state},
        "Config": {"Image": "nginx"},
        "NetworkSettings": {
            "Networks": {
                "v6net": {
                    "MacAddress": "02:42:AC:11:00:02",
                    "GlobalIPv6Address": "2001:db8:2::2",
                    "IPv6Gateway": "2001:db8:2::1",
                },
                "v4only": {"MacAddress": "02:42:ac:12:00:02"},
            }
        },
    }


def test_a_workload_from_inspect_keeps_only_its_ipv6_networks() -> None:
    w = workload_from_inspect(_inspect(), {"v6net": V6NET})
    assert w is not None
    assert (w.name, w.image, [link.network.name for link in w.links]) == (
        "web-1",
        "nginx",
        ["v6net"],
    )
    assert w.alive()  # this very process, same start time
    (seat,) = w.seats({"02:42:ac:11:00:02": "eth1"})
    assert (seat.key, seat.interface, seat.workload) == ("web-1@v6net", "eth1", True)
    assert seat.global6 == "2001:db8:2::2"


def test_not_running_or_not_on_ipv6_is_no_workload() -> None:
    assert workload_from_inspect(_inspect(Running=False), {"v6net": V6NET}) is None
    assert workload_from_inspect(_inspect(Pid=0), {"v6net": V6NET}) is None
    assert workload_from_inspect(_inspect(), {}) is None


def test_a_reused_pid_is_not_the_same_container() -> None:
    w = workload_from_inspect(_inspect(), {"v6net": V6NET})
    assert w is not None
    other = type(w)(w.name, w.id, w.pid, (w.started or 0) + 1, w.links)
    assert not other.alive()


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "run" / "resolve").mkdir(parents=True)
    (root / "run" / "resolve" / "stub.conf").write_text("nameserver 2001:db8:53::53\n")
    return root


def test_an_absolute_link_resolves_inside_the_container(rootfs: Path, tmp_path: Path) -> None:
    # on the host, /run/resolve/stub.conf is another file (or none): it must not be read
    (rootfs / "etc" / "resolv.conf").symlink_to("/run/resolve/stub.conf")
    assert read_in_root(1, root=str(rootfs)) == b"nameserver 2001:db8:53::53\n"


def test_dot_dot_never_climbs_out_of_the_root(rootfs: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("host file\n")
    (rootfs / "etc" / "resolv.conf").symlink_to("../../../../secret")
    with pytest.raises(FileNotFoundError):
        read_in_root(1, root=str(rootfs))
    (rootfs / "secret").write_text("container file\n")
    assert read_in_root(1, root=str(rootfs)) == b"container file\n"


def test_a_link_loop_is_an_error_not_a_hang(rootfs: Path) -> None:
    (rootfs / "etc" / "resolv.conf").symlink_to("/etc/resolv.conf")
    with pytest.raises(OSError, match="symbolic links"):
        read_in_root(1, root=str(rootfs))


def test_not_a_regular_file(rootfs: Path) -> None:
    (rootfs / "etc" / "resolv.conf").mkdir()
    with pytest.raises(OSError, match="is a directory: not read"):
        read_in_root(1, root=str(rootfs))


@pytest.fixture(params=["openat2", "walk"])
def resolver_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test below runs with the kernel's openat2 and with the fallback walk."""
    from probes import inroot

    monkeypatch.setattr(inroot, "_openat2_missing", request.param == "walk")
    return str(request.param)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device node needs root")
def test_a_device_node_is_never_opened(rootfs: Path, resolver_kind: str) -> None:
    """A container may mknod its resolv.conf as any device: the harness, root on the host,
    must not open it (opening the wrong device can rewind a tape or reset hardware)."""
    # /dev/null's numbers: harmless should the harness ever open it (the spy tells if it does)
    os.mknod(rootfs / "etc" / "resolv.conf", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    opened: list[str] = []
    real_open = os.open

    def spy(path: object, flags: int, *args: object, **kwargs: object) -> int:
        opened.append(f"{path} {'O_PATH' if flags & os.O_PATH else 'OPENED'}")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "open", spy)
        with pytest.raises(OSError, match="is a character device: not read"):
            read_in_root(1, root=str(rootfs))
    assert not any(o.endswith("OPENED") for o in opened), opened  # only O_PATH: nothing opened


def test_a_fifo_is_said_and_never_waited_on(rootfs: Path, resolver_kind: str) -> None:
    os.mkfifo(rootfs / "etc" / "resolv.conf")
    with pytest.raises(OSError, match="is a FIFO: not read"):
        read_in_root(1, root=str(rootfs))


def test_links_resolve_inside_the_root_either_way(
    rootfs: Path, tmp_path: Path, resolver_kind: str
) -> None:
    (rootfs / "etc" / "resolv.conf").symlink_to("../run/../../../run/resolve/stub.conf")
    assert read_in_root(1, root=str(rootfs)) == b"nameserver 2001:db8:53::53\n"
    (rootfs / "etc" / "resolv.conf").unlink()
    (rootfs / "etc" / "resolv.conf").symlink_to("/proc/self/root/etc/passwd")  # a magic link
    with pytest.raises(OSError, match=r"\S"):  # ELOOP or ENOENT: never the host's file
        read_in_root(1, root=str(rootfs))


def test_swapping_a_directory_for_a_link_mid_read_never_reads_the_host(
    tmp_path: Path, resolver_kind: str
) -> None:
    """A container that swaps its /etc for a link to / while the harness reads: every read is
    the container's file or an error, never the host's (was: 4,889 of 20,000 simulated)."""
    import threading

    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc" / "resolv.conf").write_text("HOST\n")
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "resolv.conf").write_text("CONTAINER\n")
    (root / "etc").symlink_to("real")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            tmp = root / "etc.new"
            tmp.symlink_to(str(host / "etc"))  # an absolute link out of the root
            os.replace(tmp, root / "etc")
            tmp.symlink_to("real")
            os.replace(tmp, root / "etc")

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[bytes] = set()
    try:
        for _ in range(2000):
            try:
                seen.add(read_in_root(1, root=str(root)))
            except OSError:
                seen.add(b"error")
    finally:
        stop.set()
        swapper.join()
    assert b"HOST\n" not in seen, seen
    assert b"CONTAINER\n" in seen


def test_a_huge_file_is_read_up_to_the_limit(rootfs: Path) -> None:
    (rootfs / "etc" / "resolv.conf").write_bytes(b"#" * 10_000)
    assert len(read_in_root(1, root=str(rootfs), limit=100)) == 100


async def test_a_workload_gone_is_not_probed_and_says_so() -> None:
    from suites.plugin.workloads import GONE, while_alive

    w = workload_from_inspect(_inspect(), {"v6net": V6NET})
    assert w is not None
    gone = type(w)(w.name, w.id, w.pid, (w.started or 0) + 1, w.links)
    asked: list[str] = []

    async def probe() -> str:
        asked.append("probe")
        return "seen"

    assert await while_alive(w, probe) == "seen"
    assert await while_alive(gone, probe) == f"container web-1 {GONE}"
    assert asked == ["probe"]  # the gone one was never entered


async def test_a_harness_error_of_a_live_workload_stays_one() -> None:
    from probes.errors import NetnsError
    from suites.plugin.workloads import while_alive

    w = workload_from_inspect(_inspect(), {"v6net": V6NET})
    assert w is not None

    async def broken() -> str:
        raise NetnsError("container web-1", "cannot enter it")

    with pytest.raises(NetnsError):
        await while_alive(w, broken)


async def test_a_live_workload_that_cannot_be_looked_at_is_a_harness_error_for_it_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib
    from types import SimpleNamespace

    from probes.errors import NetnsError
    from suites.plugin import workloads as plugin
    from suites.plugin.survey import Survey

    w = workload_from_inspect(_inspect(), {"v6net": V6NET})
    assert w is not None

    async def cannot_enter(netns: object) -> object:
        raise NetnsError("container web-1", "setns failed")

    monkeypatch.setattr(plugin.ifaddr, "snapshot", cannot_enter)
    monkeypatch.setattr(plugin, "workloads", lambda config: [w])
    target = SimpleNamespace(profile=SimpleNamespace(dad_timeout=0.1))
    async with contextlib.AsyncExitStack() as stack:
        survey = Survey(SimpleNamespace(stash=pytest.Stash()), target, stack)  # type: ignore[arg-type]
        views = await plugin.workload_views.probe(survey)
    assert list(views.unreadable) == ["web-1@v6net"]
    assert "setns failed" in str(views.unreadable["web-1@v6net"])
    assert not views.containers
    assert not views.gone


# -- --containers that names nothing that runs ------------------------------------------------

RUNNING = [(["web-1"], "4f3c2a1b0e9d"), (["db"], "77aa00bb11cc")]


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("all", ()),
        ("none", ()),
        ("web-1", ()),
        ("web-1,nosuch-web", ("nosuch-web",)),
        ("nosuch-web,web1", ("nosuch-web", "web1")),
        ("4f3c", ()),  # an ID prefix of four or more
        ("4f3", ("4f3",)),  # too short to be one
        ("label=tier", ()),  # the daemon filtered the list by the label: something came back
    ],
)
def test_unmatched_names(text: str, missing: tuple[str, ...]) -> None:
    assert unmatched(parse_selector(text), RUNNING) == missing


def test_nothing_running_matches_a_label_or_project() -> None:
    assert unmatched(parse_selector("label=tier=front"), []) == ("tier=front",)
    assert unmatched(parse_selector("compose=shop"), []) == ("shop",)
    assert unmatched(parse_selector("all"), []) == ()


def test_nothing_selected_says_which_in_one_line() -> None:
    said = str(NothingSelected(parse_selector("web-1, nosuch"), ["nosuch"], "unix:///a b.sock"))
    assert said == (
        "--containers web-1,nosuch: no running container is called nosuch "
        "(`docker -H 'unix:///a b.sock' ps` lists them)"
    )
    assert "\n" not in str(NothingSelected(parse_selector("compose=shop"), ["shop"], "x"))
