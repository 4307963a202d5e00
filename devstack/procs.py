"""Process plumbing for the local stack: who runs the servers, spawning, waiting, log tails, stopping.

Servers are spawned in a session of their own so that a Ctrl-C in the terminal reaches only the
orchestrator, which then stops them in dependency order instead of letting them all die at once.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

POLL_SECONDS = 0.05


class StartError(RuntimeError):
    """A service failed to start or to become healthy; the message carries the tail of its log."""


@dataclass(frozen=True)
class ServiceUser:
    """The account the data servers (Postgres, PgBouncer, Redis, nginx) run as."""

    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()


def service_user() -> ServiceUser:
    """The current user, or ``postgres`` when running as root.

    initdb and PgBouncer refuse to run as root, so as root every data server is started as an unprivileged
    account (``NEXUS_DEVSTACK_USER``, default ``postgres``, which Debian's postgresql package creates).
    """
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
    else:
        name = os.environ.get("NEXUS_DEVSTACK_USER", "postgres")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise StartError(
                f"running as root, the data servers need an unprivileged user {name!r}; install postgresql "
                "(it creates 'postgres') or set NEXUS_DEVSTACK_USER to an existing account"
            ) from None
    return ServiceUser(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


def give_to(user: ServiceUser, *paths: Path) -> None:
    """Make directories owned by the service user (a no-op when that is already us)."""
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        if not user.is_current:
            os.chown(path, user.uid, user.gid)


def reachable_by(user: ServiceUser, path: Path) -> bool:
    """True if ``user`` can traverse every existing directory down to ``path`` (by mode bits)."""
    if user.is_current:
        return True
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        info = parent.stat()
        if info.st_uid == user.uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == user.gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return False
    return True


def _user_kwargs(user: ServiceUser | None) -> dict[str, Any]:
    # Popen's user/group switch in the child itself: unlike runuser, no intermediate process stays
    # around, so the pid we record is the server's own pid.
    if user is None or user.is_current:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def _child_env(user: ServiceUser | None, env: dict[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ if env is None else env)
    if user is not None and not user.is_current:
        home = pwd.getpwuid(user.uid).pw_dir
        merged.update(HOME=home, USER=user.name, LOGNAME=user.name)
    return merged


def run(
    cmd: Sequence[str],
    *,
    user: ServiceUser | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    what: str | None = None,
) -> str:
    """Run a short command to completion; raise StartError with its output if it fails."""
    try:
        done = subprocess.run(
            list(cmd),
            env=_child_env(user, env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
            check=False,
            **_user_kwargs(user),
        )
    except subprocess.TimeoutExpired as exc:
        raise StartError(f"{what or cmd[0]}: timed out after {timeout:.0f}s") from exc
    # **kwargs makes the overload resolve to CompletedProcess[Any]; text=True means str.
    stdout, stderr = str(done.stdout), str(done.stderr)
    if done.returncode != 0:
        output = (stdout + stderr).strip()
        raise StartError(f"{what or cmd[0]} exited with {done.returncode}:\n{_last_lines(output, 30)}")
    return stdout


def spawn(
    cmd: Sequence[str],
    *,
    log_path: Path,
    user: ServiceUser | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running server in its own session, output appended to its log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log: IO[bytes]
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(cmd),
            env=_child_env(user, env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **_user_kwargs(user),
        )


def _last_lines(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return _last_lines(text, lines)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail early if ``proc`` exits, with the tail of its log."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise StartError(_failure(f"{what} exited with code {proc.returncode}", log_path))
        if time.monotonic() > deadline:
            raise StartError(_failure(f"{what} not healthy after {timeout:.0f}s", log_path))
        time.sleep(POLL_SECONDS)


def _failure(message: str, log_path: Path | None) -> str:
    if log_path is None:
        return message
    return f"{message}; last lines of {log_path}:\n{tail(log_path)}"


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if we could bind host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (any address), from the kernel's tables in /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is ADDR:PORT in hex; state 0A is TCP_LISTEN (include/net/tcp_states.h).
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holder_of(port: int) -> str:
    """' by pid N (command line)' for the process listening on ``port``, or '' if that cannot be seen
    (another user's process when we are not root, or nothing listening)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return ""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {str(fd.readlink()) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            command = " ".join(pid_cmdline(int(proc.name)).split())
            return f" by pid {proc.name} ({command[:80]})"
    return ""


def http_status(url: str, timeout: float = 2.0, method: str = "GET") -> int | None:
    """Status code of a plain HTTP request, or None if nothing answered."""
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback URLs we build
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def pid_alive(pid: int) -> bool:
    """True if the pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def pid_cmdline(pid: int) -> str:
    """The command line of a pid, blank-separated ('' if gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def stop_pid(pid: int, *, timeout: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> None:
    """Signal a process that is not our child, wait for it to go, SIGKILL it if it lingers."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 5
        time.sleep(POLL_SECONDS)


def stop_child(
    proc: subprocess.Popen[bytes], *, timeout: float = 15.0, sig: signal.Signals = signal.SIGTERM
) -> int | None:
    """Signal our child, reap it, SIGKILL it if it outlives ``timeout``. Returns its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode
