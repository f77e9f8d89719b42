"""Open a local HTML file in headless Chromium and report what went wrong on the way.

A test utility, standard library only: it drives Chromium over the DevTools protocol on
``--remote-debugging-pipe`` (the browser reads NUL-terminated JSON commands on its fd 3 and
writes replies and events on its fd 4). ``open_page`` loads one file in a fresh profile and
returns what a reader of the page would have met: console errors and warnings, uncaught
exceptions, attempted requests, JavaScript dialogs (dismissed at once), CSP violations (as
console errors), the title and visible text, and a PNG screenshot.

Nothing leaves the machine. The page's (and its workers') http(s) requests are blocked through
the protocol (``Network.setBlockedURLs``; they are still recorded as attempted), and the
browser resolves no name or address at all (``--host-resolver-rules``, IP literals included),
which stops what the protocol does not: WebSockets (setBlockedURLs lets them through in
Chromium 156), preconnects, other targets.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import math
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BrowserError", "BrowserTimeout", "PageRun", "chromium_available", "open_page"]

# The real binary first: Debian's /usr/bin/chromium is a shell wrapper that adds flags of its
# own (--enable-remote-extensions, GPU rasterization, API keys in the environment).
_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
)

_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--metrics-recording-only",
    "--mute-audio",
    "--window-size=1280,1600",
    "--disable-dev-shm-usage",  # containers often have a 64 MB /dev/shm
    "--no-proxy-server",  # ignore http_proxy & co. in the environment
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name or address resolves, IP literals included
    "--remote-debugging-pipe",
)
_BLOCKED = ["http://*", "https://*", "ws://*", "wss://*"]
_SETTLE = 0.3  # seconds of events still collected after the load event
_CLOSE_GRACE = 3.0  # seconds Browser.close gets before the process group is killed
_KILL_WAIT = 5.0  # seconds to wait for killed helpers to be gone
_MAX_SHOT_HEIGHT = 16384  # CSS pixels
_STDERR_TAIL = 2000  # bytes of Chromium's stderr quoted in errors
_STDERR_NOISE = ("dbus/", "Fontconfig", "ALSA", "libva")


class BrowserError(RuntimeError):
    """Chromium could not be run, or could not load and capture the page."""


class BrowserTimeout(BrowserError, TimeoutError):
    """The whole run took longer than its timeout (Chromium was killed)."""


@dataclass(frozen=True)
class PageRun:
    """What happened while a page was loaded (plus a short settle time)."""

    console: tuple[str, ...]  # "error: <text>" / "warning: <text>" (console API and Log entries)
    exceptions: tuple[str, ...]  # uncaught JS exceptions
    requests: tuple[str, ...]  # URLs requested other than the page itself and data: URLs
    dialogs: tuple[str, ...]  # "alert: <message>", "confirm: <message>", ...
    title: str  # document.title
    text: str  # document.body.innerText: what a reader sees
    screenshot: Path
    measured: dict[str, str] = field(default_factory=dict)  # each `measure` expression's value

    @property
    def clean(self) -> bool:
        """No console error (warnings allowed), exception, request or dialog."""
        return not (
            any(line.startswith("error:") for line in self.console)
            or self.exceptions
            or self.requests
            or self.dialogs
        )

    def describe(self) -> str:
        """The problems, one per line (for assertion messages); empty if there are none."""
        return _describe(self.console, self.exceptions, self.requests, self.dialogs)


def _describe(
    console: tuple[str, ...] | list[str],
    exceptions: tuple[str, ...] | list[str],
    requests: tuple[str, ...] | list[str],
    dialogs: tuple[str, ...] | list[str],
) -> str:
    lines = [f"console {c}" for c in console]
    lines += [f"exception: {e}" for e in exceptions]
    lines += [f"request: {r}" for r in requests]
    lines += [f"dialog {d}" for d in dialogs]
    return "\n".join(lines)


def chromium_available() -> str | None:
    """Path of the Chromium binary to use, or None if there is none."""
    for name in _CANDIDATES:
        if os.path.isabs(name):
            if os.path.isfile(name) and os.access(name, os.X_OK):
                return name
        elif found := shutil.which(name):
            return found
    return None


def open_page(
    html: Path,
    screenshot: Path,
    *,
    timeout: float = 60.0,
    javascript: bool = True,
    width: int = 1280,
    height: int = 1600,
    first_screen: bool = False,
    measure: dict[str, str] | None = None,
) -> PageRun:
    """Load `html` in a fresh headless Chromium, write a full-page PNG to `screenshot`.

    With ``javascript=False`` the page's scripts do not run (the title and text are still
    read, through the protocol). ``width`` × ``height``: the viewport, in CSS pixels (below
    600 wide, as a phone: the page's viewport meta applies); ``first_screen``: the PNG holds
    only what the viewport shows. ``measure``: name → a JavaScript expression evaluated in
    the loaded page through the protocol (page scripts off or not), its value in
    ``PageRun.measured``. Raises BrowserTimeout after `timeout` seconds in all, and
    BrowserError if Chromium is missing, dies, or cannot load the file.
    """
    html = Path(html).resolve()
    if not html.is_file():
        raise FileNotFoundError(html)
    binary = chromium_available()
    if binary is None:
        raise BrowserError("no Chromium binary found")
    run = _Run(html.as_uri(), time.monotonic() + timeout, timeout)
    run.viewport = (width, height, first_screen)
    run.measure = dict(measure or {})
    return run.execute(binary, Path(screenshot), javascript)


def _high_fd(fd: int) -> int:
    """`fd` moved to a number >= 10 (close-on-exec), so dup2 to 3 and 4 cannot collide."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


class _Run:
    """One browser process, one page: the protocol connection and what it reported."""

    def __init__(self, url: str, deadline: float, timeout: float) -> None:
        self.url = url
        self.deadline = deadline
        self.timeout = timeout
        self.stage = "starting chromium"
        self.console: list[str] = []
        self.exceptions: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.loads: set[str] = set()  # loaderIds whose frame reached the "load" lifecycle event
        self.session = ""  # the page's
        self.children: set[str] = set()  # sessions of its workers
        self.pid = 0
        self.cmd_w = -1
        self.reply_r = -1
        self.buf = bytearray()
        self.scanned = 0  # bytes of buf known to hold no NUL
        self.next_id = 0
        self.workdir = Path()
        self.viewport = (1280, 1600, False)
        self.measure: dict[str, str] = {}

    # -- the process -------------------------------------------------------------------

    def execute(self, binary: str, screenshot: Path, javascript: bool) -> PageRun:
        self.workdir = Path(tempfile.mkdtemp(prefix="chromium-page-"))
        fds: list[int] = []
        try:
            cmd_r, cmd_w = (_high_fd(fd) for fd in os.pipe())
            fds += [cmd_r, cmd_w]
            reply_r, reply_w = (_high_fd(fd) for fd in os.pipe())
            fds += [reply_r, reply_w]
            err = os.open(self.workdir / "stderr", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fds.append(err)
            argv = [
                binary,
                *_FLAGS,
                f"--user-data-dir={self.workdir / 'profile'}",
                "about:blank",
            ]
            # posix_spawn rather than subprocess: pass_fds keeps fd numbers, and the browser
            # needs its pipe ends at exactly 3 and 4 (without a preexec_fn, unsafe with threads)
            self.pid = os.posix_spawn(
                binary,
                argv,
                self.environment(),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, err, 1),
                    (os.POSIX_SPAWN_DUP2, err, 2),
                    (os.POSIX_SPAWN_DUP2, cmd_r, 3),
                    (os.POSIX_SPAWN_DUP2, reply_w, 4),
                ],
                setpgroup=0,  # its own process group: killed as a whole
            )
            for fd in (cmd_r, reply_w, err):  # the browser's ends
                os.close(fd)
                fds.remove(fd)
            self.cmd_w, self.reply_r = cmd_w, reply_r
            os.set_blocking(cmd_w, False)
            os.set_blocking(reply_r, False)
            run = self.drive(screenshot, javascript)
            self.close_gracefully()
            return run
        except BrowserError:
            raise
        except OSError as exc:  # spawning, pipes, writing the screenshot
            raise BrowserError(f"chromium: {exc}{self.stderr_tail()}") from exc
        finally:
            try:
                self.kill()
            finally:
                for fd in fds:
                    os.close(fd)
                self.remove_workdir()

    def environment(self) -> dict[str, str]:
        # Chromium keeps its crash database (and more) under $XDG_CONFIG_HOME whatever the
        # --user-data-dir: keep that in the work directory too, not in the user's home
        env = dict(os.environ)
        env["XDG_CONFIG_HOME"] = str(self.workdir / "config")
        env["XDG_CACHE_HOME"] = str(self.workdir / "cache")
        return env

    def close_gracefully(self) -> None:
        self.stage = "closing chromium"
        try:
            self.send("Browser.close")
        except BrowserError:
            return
        end = min(time.monotonic() + _CLOSE_GRACE, self.deadline)
        while time.monotonic() < end and not self.exited():
            time.sleep(0.02)

    def exited(self) -> bool:
        """Whether the browser process has ended (left unreaped, so its pid stays ours)."""
        return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def kill(self) -> None:
        """Kill what is left of the browser's process group, reap it, then its strays."""
        if self.pid:
            # the leader is not reaped yet, so the group id cannot have been reused
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0
        # Helpers that left the group (crashpad handlers call setsid) all name the work
        # directory on their command line; wait until none is left (zombies name nothing).
        marker = os.fsencode(self.workdir)
        end = time.monotonic() + _KILL_WAIT
        while (strays := _processes_naming(marker)) and time.monotonic() < end:
            for pid in strays:
                _kill_if_naming(pid, marker)
            time.sleep(0.02)

    def remove_workdir(self) -> None:
        if not self.workdir.is_absolute():
            return  # never made
        # a killed helper may still be writing into the profile for a moment
        for _ in range(50):
            try:
                shutil.rmtree(self.workdir)
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)
            else:
                return
        shutil.rmtree(self.workdir, ignore_errors=True)

    def stderr_tail(self) -> str:
        try:
            with open(self.workdir / "stderr", "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4 * _STDERR_TAIL))
                data = f.read().decode(errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in data.splitlines() if not any(n in ln for n in _STDERR_NOISE)]
        tail = "\n".join(lines)[-_STDERR_TAIL:].strip()
        return f"\nchromium stderr (tail):\n{tail}" if tail else ""

    # -- the protocol ------------------------------------------------------------------

    def fail(self, message: str) -> BrowserError:
        seen = _describe(self.console, self.exceptions, self.requests, self.dialogs)
        seen = f"\nseen so far:\n{seen}" if seen else "\nnothing seen so far"
        return BrowserError(f"{message} (while {self.stage}){seen}{self.stderr_tail()}")

    def timed_out(self) -> BrowserTimeout:
        exc = self.fail(f"chromium timed out after {self.timeout:g} s")
        return BrowserTimeout(str(exc))

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str = "") -> int:
        """Send a command to the browser, or to the target attached as `session`."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self.timed_out()
            select.select([], [self.cmd_w], [], remaining)
            try:
                data = data[os.write(self.cmd_w, data) :]
            except BlockingIOError:
                continue
            except BrokenPipeError as exc:
                raise self.fail("chromium closed the DevTools pipe") from exc
        return self.next_id

    def receive(self, until: float) -> dict[str, Any] | None:
        """The next message, or None once `until` has passed without one."""
        while (end := self.buf.find(b"\0", self.scanned)) < 0:
            self.scanned = len(self.buf)
            remaining = min(until, self.deadline) - time.monotonic()
            if remaining <= 0:
                if time.monotonic() >= self.deadline:
                    raise self.timed_out()
                return None
            select.select([self.reply_r], [], [], remaining)
            try:
                chunk = os.read(self.reply_r, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                raise self.fail("chromium closed the DevTools pipe")
            self.buf += chunk
        message: dict[str, Any] = json.loads(self.buf[:end])
        del self.buf[: end + 1]
        self.scanned = 0
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> dict[str, Any]:
        """Send a command to the page (or the browser) and return its result.

        The events that come meanwhile are handled.
        """
        wanted = self.send(method, params, session="" if browser else self.session)
        while True:
            message = self.receive(self.deadline)
            assert message is not None  # receive raises at the deadline
            if message.get("id") == wanted:
                if "error" in message:
                    raise self.fail(f"{method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.handle(message)

    def pump(self, until: float, done: Callable[[], bool] | None = None) -> None:
        """Handle events until `until`, or until `done()` holds."""
        while not (done and done()):
            message = self.receive(until)
            if message is None:
                return
            self.handle(message)

    def handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        session = message.get("sessionId")
        if method is None:
            return  # the reply to a command sent with send() alone
        params: dict[str, Any] = message.get("params", {})
        if session == self.session:
            self.handle_page(method, params)
        elif session in self.children:
            self.handle_any(method, params)

    def handle_page(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append(f"{params.get('type', 'dialog')}: {params.get('message', '')}")
            # answered at once (its reply is ignored), or the page would hang
            self.send("Page.handleJavaScriptDialog", {"accept": False}, session=self.session)
        elif method == "Page.lifecycleEvent":
            if params.get("name") == "load":
                self.loads.add(params.get("loaderId", ""))
        elif method == "Target.attachedToTarget":
            # a worker (or frame) of the page, paused until it is set up like the page
            child = params["sessionId"]
            self.children.add(child)
            for command in ("Runtime.enable", "Log.enable", "Network.enable"):
                self.send(command, session=child)
            self.send("Network.setBlockedURLs", {"urls": _BLOCKED}, session=child)
            self.send("Runtime.runIfWaitingForDebugger", session=child)
        elif method == "Target.detachedFromTarget":
            self.children.discard(params.get("sessionId", ""))
        elif method in ("Inspector.targetCrashed", "Inspector.detached"):
            raise self.fail(f"the page's renderer went away ({method})")
        else:
            self.handle_any(method, params)

    def handle_any(self, method: str, params: dict[str, Any]) -> None:
        """Events of the page and of its workers alike."""
        if method == "Runtime.consoleAPICalled":
            kind = {"error": "error", "assert": "error", "warning": "warning"}.get(params["type"])
            if kind:
                args = " ".join(_remote_text(arg) for arg in params.get("args", []))
                self.console.append(f"{kind}: {args}")
        elif method == "Log.entryAdded":
            entry = params["entry"]
            # a worker's messages come from its own session: "worker" entries repeat them
            if entry.get("level") in ("error", "warning") and entry.get("source") != "worker":
                text, url = entry.get("text", ""), entry.get("url", "")
                network = entry.get("source") == "network"
                if network and url not in ("", self.url) and url not in text:
                    text = f"{text} ({url})"
                self.console.append(f"{entry['level']}: {text}")
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(_exception_text(params["exceptionDetails"]))
        elif method == "Network.requestWillBeSent":
            self.request(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.request(params["url"])

    def request(self, url: str) -> None:
        if url.split("#", 1)[0] == self.url or url.startswith("data:"):
            return
        if url not in self.requests:
            self.requests.append(url)

    # -- the page ----------------------------------------------------------------------

    def drive(self, screenshot: Path, javascript: bool) -> PageRun:
        self.stage = "opening a tab"
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)
        attached = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True
        )
        self.session = attached["sessionId"]
        self.stage = "setting up the tab"
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable")
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True})
        self.call("Network.setBlockedURLs", {"urls": _BLOCKED})
        self.call(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )
        if not javascript:
            self.call("Emulation.setScriptExecutionDisabled", {"value": True})
        width, height, first_screen = self.viewport
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

        self.stage = f"loading {self.url}"
        nav = self.call("Page.navigate", {"url": self.url})
        if nav.get("errorText"):
            raise self.fail(f"could not load {self.url}: {nav['errorText']}")
        loader = nav.get("loaderId", "")
        self.pump(self.deadline, lambda: loader in self.loads)
        self.stage = "letting the page settle"
        self.pump(time.monotonic() + _SETTLE)

        self.stage = "reading the page"
        title = self.evaluate("document.title")
        text = self.evaluate("document.body ? document.body.innerText : ''")
        measured = {name: self.evaluate(f"String({js})") for name, js in self.measure.items()}

        self.stage = "taking the screenshot"
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": width if first_screen else max(1, math.ceil(size["width"])),
            "height": height
            if first_screen
            else max(1, min(_MAX_SHOT_HEIGHT, math.ceil(size["height"]))),
            "scale": 1,
        }
        shot = self.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        return PageRun(
            console=tuple(self.console),
            exceptions=tuple(self.exceptions),
            requests=tuple(self.requests),
            dialogs=tuple(self.dialogs),
            title=title,
            text=text,
            screenshot=screenshot,
            measured=measured,
        )

    def evaluate(self, expression: str) -> str:
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise self.fail(f"{expression!r} threw: {_exception_text(reply['exceptionDetails'])}")
        value = reply.get("result", {}).get("value", "")
        return value if isinstance(value, str) else json.dumps(value)


def _processes_naming(marker: bytes) -> list[int]:
    """Live processes whose command line contains `marker` (Linux /proc; [] elsewhere)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    return [int(name) for name in names if name.isdigit() and marker in _cmdline(name)]


def _cmdline(pid: str | int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _kill_if_naming(pid: int, marker: bytes) -> None:
    """SIGKILL `pid` if it still names `marker`: through a pidfd, so never a reused pid."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return  # gone already
    try:
        if marker in _cmdline(pid):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def _remote_text(arg: dict[str, Any]) -> str:
    """A console argument (a Runtime.RemoteObject) as console text."""
    if "value" in arg:
        value = arg["value"]
        return value if isinstance(value, str) else json.dumps(value)
    if "unserializableValue" in arg:
        return str(arg["unserializableValue"])
    return str(arg.get("description", arg.get("type", "")))


def _exception_text(details: dict[str, Any]) -> str:
    """'Uncaught Error: boom (file:///x.html:3:9)' from Runtime.ExceptionDetails."""
    text = str(details.get("text", "Uncaught"))
    description = details.get("exception", {}).get("description")
    if description:
        first = str(description).splitlines()[0]
        text = first if first.startswith(text) else f"{text} {first}"
    if url := details.get("url"):
        text += f" ({url}:{details.get('lineNumber', 0) + 1}:{details.get('columnNumber', 0) + 1})"
    return text
