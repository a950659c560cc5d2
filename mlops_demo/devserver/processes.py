"""Process groups: each child runs in a session of its own with default signal handlers, logs to
a file, and is stopped as a whole group (SIGTERM, then SIGKILL), so nothing outlives it.

`dagster dev &` from a non-interactive shell inherits SIGINT and SIGTERM ignored, and SIGKILL of
the leader alone leaves its webserver, daemon and code server orphaned: hence both rules.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_DAGSTER_PROGRAMS = ("dagster dev", "dagster_webserver", "dagster._daemon", "dagster-webserver")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_alive(group: int) -> bool:
    """Whether any process of the process group is still there."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _restore_default_signals() -> None:
    # A non-interactive parent leaves SIGINT ignored; the child must be able to hear it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class ProcessGroup:
    """One command in a process group of its own, its output appended to `log`."""

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path):
        self.log = log
        with open(log, "ab") as output:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_restore_default_signals,
            )

    @property
    def pid(self) -> int:
        return self.process.pid  # start_new_session makes it the group leader

    def exited(self) -> bool:
        return self.process.poll() is not None

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left of it after `timeout`."""
        self.signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        deadline = time.monotonic() + 5  # its children (a code server's gRPC worker, say)
        while time.monotonic() < deadline and group_alive(self.pid):
            time.sleep(0.2)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the group, as a crash or an evicted container would end it."""
        self.signal(signal.SIGKILL)
        self.process.wait()


def running_dagster_processes(home: Path) -> list[int]:
    """Pids of dagster dev, webserver or daemon processes using this Dagster home (Linux /proc)."""
    home_text = str(home.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not any(program in cmdline for program in _DAGSTER_PROGRAMS):
                continue
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if home_text in cmdline or f"DAGSTER_HOME={home_text}" in environ:
            found.append(int(entry.name))
    return found
