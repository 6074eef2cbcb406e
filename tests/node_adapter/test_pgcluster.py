"""The private PostgreSQL cluster the tests start: it serves, and never outlives its owner (closed, killed, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from node_adapter.dev.pgcluster import PrivatePostgres
from node_adapter.exceptions import ToolchainError
from node_adapter.toolchain import postgres_bin

ROOT = Path(__file__).resolve().parents[2]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


def postgres_processes(folder: Path) -> list[int]:
    """Pids of the postgres processes whose command line names ``folder`` (a postmaster names its data folder)."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [pid for pid in pids if pid != os.getpid() and str(folder) in (line := cmdline(pid)) and "postgres" in line]


def wait_until(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_private_cluster_serves_and_leaves_nothing_when_closed() -> None:
    with PrivatePostgres() as server:
        engine = create_engine(server.url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (n integer)"))
            conn.execute(text("INSERT INTO probe VALUES (7)"))
            assert conn.execute(text("SELECT n FROM probe")).scalar_one() == 7
            assert conn.execute(text("SHOW server_version")).scalar_one().startswith(server.version().split(".")[0])
        engine.dispose()
        root = server.root
        assert postgres_processes(root.resolve())
    assert not root.exists()
    assert wait_until(lambda: not postgres_processes(root.resolve()))


def test_the_cluster_is_stopped_and_removed_when_its_owner_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: the watchdog does it."""
    report = tmp_path / "root.txt"
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from node_adapter.dev.pgcluster import PrivatePostgres
            server = PrivatePostgres().__enter__()
            open({str(report)!r}, "w").write(str(server.root))
            time.sleep(600)
        """),
        ],
        cwd=ROOT,
    )
    try:
        assert wait_until(lambda: report.exists() and report.read_text(), timeout=60), "the owner did not start"
        root = Path(report.read_text()).resolve()
        assert postgres_processes(root), "no postgres runs for the owner's cluster"
        owner.kill()
        owner.wait()
        assert wait_until(lambda: not postgres_processes(root)), "postgres outlived its killed owner"
        assert wait_until(lambda: not root.exists()), "the cluster's folder outlived its killed owner"
    finally:
        if owner.poll() is None:
            owner.kill()


PROBE = """
import os, time
from pathlib import Path


def test_holds_the_database(db_url):
    Path(os.environ["PROBE_REPORT"]).write_text(db_url)
    time.sleep(600)
"""


def test_a_test_run_interrupted_by_ctrl_c_leaves_no_server_and_no_folder(tmp_path: Path) -> None:
    """The suite's own fixture, in a pytest run of its own, interrupted as a terminal does (SIGINT to the group)."""
    probe = ROOT / "tests" / f"_interrupt_probe_{os.getpid()}.py"
    probe.write_text(PROBE)
    report = tmp_path / "url.txt"
    env = {k: v for k, v in os.environ.items() if k != "CONSORTIUM_TEST_DATABASE_URL"}
    env["PROBE_REPORT"] = str(report)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"{probe}::test_holds_the_database[postgresql]",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: report.exists() and report.read_text(), timeout=90), "the probe run did not start"
        port = report.read_text().split("@127.0.0.1:")[1].split("/")[0]
        clusters = [pid for pid in postgres_processes(Path("/")) if f" -p {port} " in cmdline(pid)]
        assert clusters, f"no postgres listens on {port}"
        folders = {Path(os.readlink(f"/proc/{pid}/cwd")) for pid in clusters}
        os.killpg(run.pid, signal.SIGINT)
        output = run.communicate(timeout=120)[0].decode(errors="replace")
    finally:
        probe.unlink(missing_ok=True)
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert "KeyboardInterrupt" in output, output
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in clusters)), "postgres outlived Ctrl-C"
    for folder in folders:
        cluster_root = folder.parent
        assert cluster_root.name.startswith("consortium-test-pg-"), folder
        assert wait_until(lambda root=cluster_root: not root.exists()), f"{cluster_root} outlived Ctrl-C"


def test_a_missing_postgres_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"initdb, pg_ctl\) are not installed: apt-get install -y postgresql"):
        postgres_bin(debian_root=tmp_path)
