"""The supervisor with small real child processes: start order, readiness, crash reports, restarts with backoff,
giving up, and stopping in reverse order with nothing left behind."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from consortium.supervisor import (
    ChildState,
    RestartPolicy,
    ServiceSpec,
    Supervisor,
    SupervisorError,
    describe_exit,
    output_ready,
)

FAST = RestartPolicy(initial_backoff=0.1, max_backoff=0.4, max_crashes=3, window=30.0)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def service(name: str, trail: Path, *, order: int, **spec: object) -> ServiceSpec:
    """A child that prints ``ready``, then waits; on SIGTERM it appends ``stopped <name>`` to ``trail``."""
    code = f"""
        import signal, sys, time
        def stop(*_):
            with open({str(trail)!r}, "a") as f:
                f.write("stopped {name}\\n")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        while True:
            time.sleep(0.05)
    """
    return ServiceSpec(name=name, command=python(code), ready=output_ready("ready"), order=order, **spec)  # type: ignore[arg-type]


def until(check: Callable[[], bool], supervisor: Supervisor, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        supervisor.step()
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def make(specs: list[ServiceSpec], tmp_path: Path) -> tuple[Supervisor, io.StringIO]:
    out = io.StringIO()
    return Supervisor(specs, log_dir=tmp_path / "logs", policy=FAST, console=Console(file=out, width=200)), out


def test_children_start_in_order_echo_their_output_and_stop_in_reverse(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    specs = [service(name, trail, order=order, banner=f"{name} is up") for name, order in
             (("third", 30), ("first", 10), ("second", 20))]  # fmt: skip
    supervisor, out = make(specs, tmp_path)
    supervisor.start_all()
    try:
        assert [c.spec.name for c in supervisor.children] == ["first", "second", "third"]
        assert all(c.state == ChildState.RUNNING for c in supervisor.children)
        state = json.loads(supervisor.state_file.read_text())
        pids = {name: s["pid"] for name, s in state["services"].items()}
        assert all(alive(pid) for pid in pids.values())
        assert state["supervisor"] == os.getpid()
    finally:
        supervisor.stop_all()
    assert trail.read_text().splitlines() == ["stopped third", "stopped second", "stopped first"]
    assert not any(alive(pid) for pid in pids.values())
    text = out.getvalue()
    assert text.index("first is up") < text.index("second is up") < text.index("third is up")
    assert "first  | ready" in text  # each child's output, behind its name
    assert "ready" in (tmp_path / "logs" / "first.log").read_text()
    assert json.loads(supervisor.state_file.read_text())["services"]["first"] == {
        "pid": None, "state": "stopped", "restarts": 0, "log": str(tmp_path / "logs" / "first.log"),
    }  # fmt: skip


def test_a_crashed_child_is_reported_restarted_with_backoff_and_given_up_on(tmp_path: Path) -> None:
    trail, broken = tmp_path / "trail", tmp_path / "disk-full"
    code = f"""
        import os, sys, time
        print("ready", flush=True)
        while not os.path.exists({str(broken)!r}):
            time.sleep(0.05)
        print("something went wrong: disk full", flush=True)
        sys.exit(3)
    """
    flaky = ServiceSpec(name="flaky", command=python(code), ready=output_ready("ready"), order=20)
    supervisor, out = make([service("steady", trail, order=10), flaky], tmp_path)
    supervisor.start_all()
    steady, watched = supervisor.children
    try:
        broken.touch()  # from now on the flaky service crashes, and crashes again at each restart
        until(lambda: watched.state == ChildState.GIVEN_UP, supervisor)
        assert steady.pid is not None
        assert alive(steady.pid)  # the rest keeps running
        assert supervisor.step() is False  # not a critical child: the run goes on
    finally:
        supervisor.stop_all()
    text = " ".join(out.getvalue().split())
    assert "flaky exited unexpectedly (exit code 3)" in text
    assert "something went wrong: disk full" in text  # the last lines of its log
    assert "restarting flaky in 0.1 s (crash 1 of 3" in text
    assert "restarting flaky in 0.2 s (crash 2 of 3" in text  # the backoff doubles
    assert "GIVING UP ON FLAKY" in text
    assert "crashed 3 times within 30 s" in text
    assert "the rest keeps running without it" in text
    assert watched.restarts == 2
    assert json.loads(supervisor.state_file.read_text())["services"]["flaky"]["state"] == "given up"


def test_a_killed_child_comes_back_and_a_critical_one_given_up_ends_the_run(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    supervisor, out = make([service("node", trail, order=10, critical=True)], tmp_path)
    supervisor.start_all()
    try:
        child = supervisor.children[0]
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        until(lambda: child.state == ChildState.RUNNING and child.pid != first, supervisor)
        assert "node exited unexpectedly (killed by SIGKILL)" in out.getvalue()
        assert "node is running again" in out.getvalue()
        for _ in range(FAST.max_crashes - 1):
            pid = child.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            until(lambda pid=pid: child.pid != pid or child.state == ChildState.GIVEN_UP, supervisor)
        until(lambda: child.state == ChildState.GIVEN_UP, supervisor)
        assert supervisor.run(threading.Event()) == 1  # nothing works without it: the run ends
        assert "stopping everything" in out.getvalue()
    finally:
        supervisor.stop_all()


def test_a_child_that_does_not_start_stops_the_start_up_with_its_log(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    broken = ServiceSpec(
        name="broken",
        command=python("import sys; print('port 8700 is taken', flush=True); sys.exit(1)"),
        ready=output_ready("ready"),
        order=20,
    )
    supervisor, _out = make([service("before", trail, order=10), broken], tmp_path)
    with pytest.raises(SupervisorError) as raised:
        supervisor.start_all()
    message = str(raised.value)
    assert "broken did not start: exit code 1" in message
    assert "port 8700 is taken" in message
    assert trail.read_text() == "stopped before\n"  # what had started is stopped again


def test_a_child_that_ignores_sigterm_is_killed_with_its_whole_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    code = f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
        open({str(pid_file)!r}, "w").write(str(grandchild.pid))
        print("ready", flush=True)
        time.sleep(600)
    """
    stubborn = ServiceSpec(name="stubborn", command=python(code), ready=output_ready("ready"), stop_timeout=0.5)
    supervisor, out = make([stubborn], tmp_path)
    supervisor.start_all()
    pid = supervisor.children[0].pid
    assert pid is not None
    grandchild = int(pid_file.read_text())
    supervisor.stop_all()
    assert "stubborn did not stop within 0.5 s; killing it" in out.getvalue()
    assert not alive(pid)
    deadline = time.monotonic() + 5
    while alive(grandchild):
        assert time.monotonic() < deadline, "the grandchild outlived the supervisor's stop"
        time.sleep(0.05)


def test_two_services_with_one_name_are_refused(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    with pytest.raises(SupervisorError, match="two services are called portal"):
        Supervisor([service("portal", trail, order=1), service("portal", trail, order=2)], log_dir=tmp_path)


def test_exits_are_described_by_code_or_signal() -> None:
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(None) == "still running"
