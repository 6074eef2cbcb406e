"""``consortium bench all``: every benchmark run, side by side, in one report (JSON, Markdown, SVG charts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from consortium.bench.report import (
    BenchReportError,
    BenchSpec,
    format_figure,
    last_json_object,
    plan,
    run_bench,
)

CONSORTIUM = [sys.executable, "-m", "consortium.cli"]
SCALE_FIGURES = (
    "single_gas_per_record", "attest_reading_gas", "attest_gas", "batch_gas_per_record", "batch_proof_depth",
    "load_s", "load_records_per_s", "load_blocks", "indexer_events", "indexer_s", "indexer_events_per_s",
    "verify_vin_cold_p50_ms", "verify_vin_warm_p50_ms", "verify_document_p50_ms", "verify_document_p95_ms",
    "indexer_events_per_s_vs_first", "load_average_1m",
)  # fmt: skip


def _consortium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*CONSORTIUM, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.mark.slow
def test_bench_all_writes_one_report_with_every_figure_and_the_failures(tmp_path: Path) -> None:
    out = tmp_path / "report"
    # scale at tiny sizes; gas with a backend that does not exist, so one benchmark fails and the rest still run
    result = _consortium("bench", "all", "--out", str(out), "--only", "gas", "--only", "scale", "--sizes", "10,50",
                         "--args", "gas=--backend nope", timeout=240)  # fmt: skip
    assert result.returncode == 1, result.stderr  # a benchmark failed: the report is written, the exit code says so
    assert "not succeeded: gas" in result.stderr

    report = json.loads((out / "report.json").read_text())
    assert set(report["benches"]) == {"gas", "scale"}
    gas, scale = report["benches"]["gas"], report["benches"]["scale"]
    assert gas["status"] == "failed"
    assert "unknown local chain backend 'nope'" in gas["error"]
    assert scale["status"] == "ok"
    assert scale["command"][-2:] == ["--sizes", "10,50"]
    figures = scale["figures"]
    assert figures["sizes"] == [10, 50]
    points = {p["records"]: p for p in figures["points"]}
    assert set(points) == {10, 50}
    for point in points.values():
        missing = [f for f in SCALE_FIGURES if not isinstance(point.get(f), int | float)]
        assert not missing, f"figures missing at {point['records']} records: {missing}"
        assert 40_000 < point["single_gas_per_record"] < 150_000  # an attestation costs tens of thousands of gas
        assert point["batch_gas_per_record"] < point["single_gas_per_record"]
        assert point["verify_vin_cold_p50_ms"] > 0
    assert points[50]["batch_gas_per_record"] < points[10]["batch_gas_per_record"]  # the root's cost is shared
    assert points[50]["indexer_events"] > points[10]["indexer_events"] >= 10  # a rebuild reads every record again
    assert points[10]["indexer_events_per_s_vs_first"] == 1.0
    assert len(report["git"]["commit"]) == 40
    machine = report["machine"]
    assert machine["logical_cpus"] >= 1
    assert len(machine["load_average_start"]) == len(machine["load_average_end"]) == 3
    assert "anvil" in (machine["anvil"] or "").lower()
    assert {row["figure"] for row in report["summary"]} >= {"single_gas_per_record", "verify_document_p50_ms"}

    markdown = (out / "report.md").read_text()
    assert "## Summary" in markdown
    assert "| gas | failed |" in markdown
    assert "unknown local chain backend 'nope'" in markdown
    assert "| figure | 10 | 50 |" in markdown  # the scale table: one column per size
    for figure in SCALE_FIGURES:
        assert f"| {figure} |" in markdown
    gas = [format_figure(points[size]["single_gas_per_record"]) for size in (10, 50)]
    assert f"| single_gas_per_record | {gas[0]} | {gas[1]} |" in markdown  # the figures of report.json, by size
    for chart in ("scale-gas.svg", "scale-time.svg", "scale-verify.svg"):
        assert f"]({chart})" in markdown
        ET.fromstring((out / chart).read_text())  # well-formed
    assert not (out / "gas.svg").exists()  # no figures, no chart
    assert "rebuilding the read model" in (out / "logs" / "scale.log").read_text()


def test_an_unknown_benchmark_is_refused_with_the_known_ones() -> None:
    result = _consortium("bench", "all", "--only", "nope")
    assert result.returncode == 2
    for name in ("gas", "oracle", "scale", "throughput", "verify"):  # built in, and contributed by entry point
        assert name in result.stderr


def test_plan_forwards_sizes_to_the_benchmarks_that_take_them_and_splits_arguments() -> None:
    specs = [BenchSpec("gas"), BenchSpec("scale", frozenset({"as_json", "sizes"})), BenchSpec("oracle")]
    planned = plan(specs, sizes="10,50", extra=["oracle=--samples 3 --fleet '30'", "scale=--samples 5"])
    assert [(spec.name, args) for spec, args in planned] == [
        ("gas", []),
        ("scale", ["--sizes", "10,50", "--samples", "5"]),
        ("oracle", ["--samples", "3", "--fleet", "30"]),
    ]
    assert [s.name for s, _ in plan(specs, only=["oracle", "gas"])] == ["gas", "oracle"]
    assert [s.name for s, _ in plan(specs, skip=["gas"])] == ["scale", "oracle"]
    with pytest.raises(BenchReportError, match="no benchmark 'risk'; there are: gas, oracle, scale"):
        plan(specs, only=["risk"])
    with pytest.raises(BenchReportError, match="NAME=ARGS"):
        plan(specs, extra=["--samples 3"])


def test_a_benchmark_that_cannot_load_or_runs_too_long_is_recorded(tmp_path: Path) -> None:
    unavailable = run_bench(BenchSpec("risk", unavailable="ImportError: no module"), log_dir=tmp_path)
    assert (unavailable.status, unavailable.error) == ("unavailable", "ImportError: no module")
    started = time.monotonic()
    slow = run_bench(BenchSpec("scale"), ["--sizes", "100000"], log_dir=tmp_path, timeout=3)
    assert slow.status == "timeout"
    assert "3 s" in (slow.error or "")
    assert time.monotonic() - started < 30  # stopped, not waited for


def test_the_figures_are_the_last_json_object_printed() -> None:
    assert last_json_object('warning: x\n{"a": 1}\n{"b": 2}\n') == {"b": 2}
    assert last_json_object('{"a": 1}\nnot json {\n[1, 2]\n') == {"a": 1}
    assert last_json_object("nothing here\n") is None


def test_figures_are_shown_readably() -> None:
    shown = [format_figure(v) for v in (69_650.0, 69_648.5, 0.3045, 134.293, 7, [1_000, 10_000], None, True)]
    assert shown == ["69,650", "69,648.5", "0.3045", "134.3", "7", "1,000, 10,000", "", "true"]
