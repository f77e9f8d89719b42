"""The lab's processes: its daemons started and recorded, and every process of a lab found
again and ended, each only while it still is the process that was checked."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from lab.errors import LabError
from lab.shell import say


@contextlib.contextmanager
def finishing(what: str) -> Iterator[None]:
    """The first SIGINT or SIGTERM meanwhile lets ``what`` finish (a lab's down cut short left
    the lab behind, half removed); a second one stops it at once. Signal handlers belong to
    the main thread: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked: list[int] = []

    def once_more(signum: int, frame: FrameType | None) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        say(f"{signal.Signals(signum).name}: {what} first (again to stop at once)")

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in before:
        signal.signal(s, once_more)
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


def spawn(state: Path, daemon: str, cmd: list[str]) -> None:
    """Start ``cmd`` as the lab's ``daemon``, in a session of its own, logging to
    STATE/DAEMON.log, its pid recorded. Started with posix_spawn, not Popen: no object of this
    process stands for it, so nothing is left to collect but its exit (``reap``), wherever the
    lab is brought down from."""
    log = os.open(state / f"{daemon}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC)
    try:
        pid = os.posix_spawnp(
            cmd[0],
            cmd,
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, log, 1),
                (os.POSIX_SPAWN_DUP2, log, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(log)
    # the pid and the process's start time, read now that it runs: a pid alone names
    # whatever process gets it next once the daemon is gone (`down` checks both)
    start = proc_start(pid)
    if start is not None:  # else it is gone already, and waitpid below says so
        (state / f"{daemon}.lab-pid").write_text(PidRecord(pid, start).dump())
    time.sleep(0.05)
    ended, status = os.waitpid(pid, os.WNOHANG)
    if ended:
        tail = (state / f"{daemon}.log").read_text(errors="replace")[-600:]
        code = os.waitstatus_to_exitcode(status)
        raise LabError(f"{daemon} exited at once ({code}): {tail.strip()}")


def reap(pid: int, *, block: bool = False) -> None:
    """Collect the exit of a daemon this process started, so it is no zombie; a daemon another
    process started (a lab brought up by another command) is not ours to wait for."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0 if block else os.WNOHANG)


def signal_all(procs: list[HeldProcess], sig: signal.Signals, grace: float) -> None:
    """Send ``sig``, wait up to ``grace`` seconds for each to end, SIGKILL the rest."""
    for proc in procs:
        proc.signal(sig)
    waiting = list(procs)
    deadline = time.monotonic() + grace
    while waiting and time.monotonic() < deadline:
        for proc in list(waiting):
            if proc.gone():
                waiting.remove(proc)
        if waiting:
            time.sleep(0.05)
    for proc in waiting:
        proc.signal(signal.SIGKILL)
        reap(proc.pid, block=True)
    # every daemon of ours that has ended is collected, also one that was gone before it was
    # looked for (then it was no process to signal, only a zombie)
    for proc in procs:
        reap(proc.pid)
        proc.close()


@dataclass(frozen=True, slots=True)
class PidRecord:
    """What a ``*.lab-pid`` file says: "PID START", START being the process's start time
    (field 22 of /proc/PID/stat, clock ticks after boot). Pid files written before start
    times were recorded hold the pid alone: START is None."""

    pid: int
    start: int | None

    def dump(self) -> str:
        return f"{self.pid}\n" if self.start is None else f"{self.pid} {self.start}\n"

    @classmethod
    def parse(cls, text: str) -> PidRecord | None:
        words = text.split()
        if not 1 <= len(words) <= 2 or not all(w.isdigit() for w in words) or words[0] == "0":
            return None
        return cls(int(words[0]), int(words[1]) if len(words) == 2 else None)


def proc_start(pid: int) -> int | None:
    """The start time of process ``pid`` (field 22 of /proc/PID/stat); None if there is no
    such process or it is a zombie (it has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return stat_start(stat.decode(errors="replace"))


def stat_start(stat: str) -> int | None:
    """Field 22 of a /proc/PID/stat line, None for a zombie. The command name (field 2, in
    parentheses) may hold spaces and parentheses itself: fields are counted after its end."""
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X") or not fields[19].isdigit():
        return None
    return int(fields[19])


def names_path(argv: list[bytes], path: bytes) -> bool:
    """Whether an argument names ``path`` or a file under it: ``path`` followed by "/" or by
    the end of the argument. It may stand anywhere in the argument (``--data-root=…``,
    ``unix://…``, a shell script), but /var/lib/v6conform-lab/v6c is not named by
    /var/lib/v6conform-lab/v6cmx/docker.sock."""
    for arg in argv:
        at = arg.find(path)
        while at != -1:
            end = at + len(path)
            if end == len(arg) or arg[end : end + 1] == b"/":
                return True
            at = arg.find(path, at + 1)
    return False


def argv_of(pid: int) -> list[bytes]:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return cmdline.split(b"\0")[:-1] if cmdline.endswith(b"\0") else cmdline.split(b"\0")


def net_ns_of(pid: int) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def ancestry(pid: int) -> set[int]:
    """``pid`` and its parents, up to init."""
    found = set()
    while pid > 0 and pid not in found:
        found.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        ppid = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "0"
        )
        pid = int(ppid) if ppid.isdigit() else 0
    return found


class HeldProcess:
    """A process to signal, held by a pidfd where the kernel has them: a signal then reaches
    the process that was checked or nothing, never one that got its pid since."""

    def __init__(self, pid: int, start: int, fd: int | None) -> None:
        self.pid = pid
        self.start = start
        self._fd = fd

    @classmethod
    def open(cls, pid: int) -> HeldProcess | None:
        fd: int | None = None
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return None
        except OSError:
            fd = None  # no pidfds (an old kernel, a seccomp filter): the start time guards
        start = proc_start(pid)  # read after the pidfd is open: it is that process's or a
        if start is None:  # later one's, and then the pidfd's process is gone
            if fd is not None:
                os.close(fd)
            return None
        return cls(pid, start, fd)

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, sig)
            elif proc_start(self.pid) == self.start:
                os.kill(self.pid, sig)

    def gone(self) -> bool:
        """It has ended (a zombie counts: it only waits for its parent)."""
        if self._fd is not None:
            poller = select.poll()
            poller.register(self._fd, select.POLLIN)
            return bool(poller.poll(0))
        return proc_start(self.pid) != self.start

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def mounts_under(path: Path) -> list[str]:
    prefix = str(path)
    mounts = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4]
            if point == prefix or point.startswith(prefix + "/"):
                mounts.append(point)
    return sorted(mounts, reverse=True)
