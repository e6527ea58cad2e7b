"""Child processes started, watched and stopped the same way by `make run`
(config/devrun.py), the tests (tests/support/processes.py) and the benchmarks.

Each child runs in its own session (process group), so a signal meant for the parent
(Ctrl-C in a terminal) reaches only the parent, which then stops the children one by
one, newest first; stopping a child signals its whole group (a worker's pool children
too). With `die_with_parent`, Linux's PR_SET_PDEATHSIG ends a child even if the parent
is killed outright. Plain Python: no Django, so `make run` can use it before settings load.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when its parent dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Service:
    """One child process. Its output goes to `log_path` (appended), or is inherited."""

    def __init__(
        self,
        name: str,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        log_path: Path | None = None,
        with_parent: bool = False,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] | None = None
        self._log_start = 0
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = log_path.open("ab")
            # A log appended to across runs: readiness checks must only see this run's
            # lines, or a "ready." from an earlier run passes before this one is ready.
            self._log_start = self._log.tell()
        self.process: subprocess.Popen[bytes] = subprocess.Popen(  # noqa: S603 - our argv
            command,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log is not None else None,
            start_new_session=True,
            preexec_fn=die_with_parent if with_parent else None,
        )
        self.own_group = True

    @classmethod
    def adopt(cls, name: str, process: subprocess.Popen[bytes]) -> Service:
        """A child started elsewhere (the embedded Redis), stopped like the others."""
        service = cls.__new__(cls)
        service.name, service.log_path, service._log, service._log_start = name, None, None, 0
        service.process = process
        service.own_group = False
        return service

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> int | None:
        return self.process.poll()

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60) -> None:
        """Poll `ready` until true; stop the child and raise if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log: {self.tail()}")
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout}s; log: {self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """The end of what this child wrote to its log in this run."""
        if self._log is None or self.log_path is None:
            return ""
        if not self._log.closed:
            self._log.flush()
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")[-chars:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the child's whole process group (pool children included)."""
        with contextlib.suppress(ProcessLookupError):
            if self.own_group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)

    def stop(self, timeout: float = 15) -> bool:
        """SIGTERM, then SIGKILL after `timeout`. False if it had to be killed."""
        gentle = True
        if self.process.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                gentle = False
                self.kill(signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
        return gentle


class Supervisor:
    """Services started in order and stopped newest first: the web server before the
    worker, and Redis (started first) last, so nothing is left talking to a Redis that
    is already gone."""

    def __init__(self, *, say: Callable[[str], None] | None = None) -> None:
        self.services: list[Service] = []
        self._say = say or (lambda _message: None)

    def start(self, name: str, command: list[str], **options: object) -> Service:
        service = Service(name, command, **options)  # type: ignore[arg-type]
        self.services.append(service)
        return service

    def adopt(self, name: str, process: subprocess.Popen[bytes]) -> Service:
        service = Service.adopt(name, process)
        self.services.append(service)
        return service

    def first_exited(self) -> tuple[str, int] | None:
        for service in self.services:
            code = service.exited()
            if code is not None:
                return service.name, code
        return None

    def stop_all(self, timeout: float = 15) -> None:
        for service in reversed(self.services):
            if service.exited() is None:
                self._say(f"stopping {service.name}")
                if not service.stop(timeout):
                    self._say(f"{service.name} did not stop in time; it was killed")
            else:
                service.stop()
