"""``consortium bench all``: every benchmark, side by side, in one report.

Each benchmark (``consortium bench NAME``, built in or contributed through the ``consortium.bench`` entry point) runs
in a process of its own with ``--json``, one after the other (they time things: running two at once would skew
both). A benchmark that fails, times out or cannot even be loaded is recorded with its error, and the others still
run. The report is written to one directory:

- ``report.json``: every figure of every benchmark, the machine (CPU, memory, load average before and after, OS,
  Python, Anvil), the git commit, the commands run;
- ``report.md``: a summary of the figures that matter side by side, then a table per benchmark, and the charts;
- ``*.svg``: charts where a picture says more (gas against EAS, throughput, how cost grows with records);
- ``logs/NAME.log``: what each benchmark printed on stderr.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from consortium.bench.charts import ChartError, bar_chart, line_chart
from node_adapter.exceptions import NodeAdapterError, ToolchainError
from node_adapter.toolchain import foundry_bin, project_root

logger = logging.getLogger(__name__)

Status = Literal["ok", "failed", "timeout", "unavailable"]
ERROR_LINES = 25
"""Lines of a failed benchmark's stderr kept in the report (all of them are in its log)."""


class BenchReportError(NodeAdapterError, ValueError):
    """The report was asked for something it cannot do (an unknown benchmark, a malformed argument)."""


@dataclass(frozen=True)
class BenchSpec:
    """A benchmark ``consortium bench NAME`` and the parameters it takes (by Python name, e.g. ``sizes``)."""

    name: str
    parameters: frozenset[str] = frozenset()
    unavailable: str | None = None
    """Why the benchmark could not be loaded (its plugin failed to import), if it could not."""


@dataclass
class BenchRun:
    """What running one benchmark gave."""

    name: str
    status: Status
    seconds: float
    command: list[str] = field(default_factory=list)
    figures: dict[str, Any] | None = None
    error: str | None = None
    log: str | None = None


# ---------------------------------------------------------------------------------------------------- running


def bench_command(name: str, args: Sequence[str] = ()) -> list[str]:
    """The command line that runs benchmark ``name`` with ``--json``."""
    return [sys.executable, "-m", "consortium.cli", "bench", name, "--json", *args]


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object (benchmarks print theirs last), or None."""
    for line in reversed(text.splitlines()):
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                value = json.loads(stripped)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_bench(
    spec: BenchSpec,
    args: Sequence[str] = (),
    *,
    log_dir: Path,
    timeout: float = 3600.0,
    echo: Callable[[str], None] | None = None,
) -> BenchRun:
    """Run one benchmark in its own process; its stderr goes to ``log_dir/NAME.log`` (and, line by line, to
    ``echo``). Never raises for the benchmark's own failure: that is the run's status and error."""
    command = bench_command(spec.name, args)
    if spec.unavailable is not None:
        return BenchRun(spec.name, "unavailable", 0.0, command, error=spec.unavailable)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.name}.log"
    started = time.perf_counter()
    env = {**os.environ, "COLUMNS": "160"}
    stderr_lines: list[str] = []
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
        )
        stderr, stdout = process.stderr, process.stdout
        assert stderr is not None
        assert stdout is not None
        out_chunks: list[str] = []

        def pump_stderr() -> None:
            for line in stderr:
                log.write(line)
                log.flush()
                stderr_lines.append(line.rstrip("\n"))
                if echo is not None:
                    echo(line.rstrip("\n"))

        readers = [
            threading.Thread(target=pump_stderr, daemon=True),
            threading.Thread(target=lambda: out_chunks.append(stdout.read()), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            for reader in readers:
                reader.join(timeout=10)
            return BenchRun(spec.name, "timeout", round(time.perf_counter() - started, 1), command,
                            error=f"did not finish within {timeout:.0f} s (stopped)", log=str(log_path))  # fmt: skip
        for reader in readers:
            reader.join(timeout=30)
    seconds = round(time.perf_counter() - started, 1)
    output = "".join(out_chunks)
    tail = "\n".join(stderr_lines[-ERROR_LINES:])
    if process.returncode != 0:
        return BenchRun(spec.name, "failed", seconds, command, log=str(log_path),
                        error=f"exit code {process.returncode}\n{tail}".strip())  # fmt: skip
    figures = last_json_object(output)
    if figures is None:
        error = f"printed no JSON object; its output ended with:\n{output[-1000:]}\n{tail}".strip()
        return BenchRun(spec.name, "failed", seconds, command, error=error, log=str(log_path))
    return BenchRun(spec.name, "ok", seconds, command, figures=figures, log=str(log_path))


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop the benchmark and whatever it started (its own process group): SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def plan(
    specs: Sequence[BenchSpec],
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    sizes: str | None = None,
    extra: Iterable[str] = (),
) -> list[tuple[BenchSpec, list[str]]]:
    """Which benchmarks run, each with its arguments: ``sizes`` goes to every benchmark that takes ``--sizes``;
    ``extra`` holds ``NAME=ARGS`` items (``"throughput=--pipelined 200"``) for one benchmark each."""
    known = {s.name: s for s in specs}
    wanted, unwanted = list(only), list(skip)
    per_bench: dict[str, list[str]] = {}
    for item in extra:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise BenchReportError(f"--args takes NAME=ARGS (e.g. 'throughput=--pipelined 200'), got {item!r}")
        per_bench.setdefault(name.strip(), []).extend(shlex.split(text))
    for name in [*wanted, *unwanted, *per_bench]:
        if name not in known:
            raise BenchReportError(f"there is no benchmark {name!r}; there are: {', '.join(sorted(known))}")
    chosen = [s for s in specs if (not wanted or s.name in wanted) and s.name not in unwanted]
    runs: list[tuple[BenchSpec, list[str]]] = []
    for spec in chosen:
        arguments = list(per_bench.get(spec.name, []))
        if sizes is not None and "sizes" in spec.parameters:
            arguments = ["--sizes", sizes, *arguments]
        runs.append((spec, arguments))
    return runs


# ---------------------------------------------------------------------------------------------------- context


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "anvil": _anvil_version(),
        "packages": {name: _version(name) for name in ("web3", "sqlalchemy", "fastapi", "uvicorn", "eth-account")},
    }
    return info


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _anvil_version() -> str | None:
    try:
        result = subprocess.run([str(foundry_bin("anvil")), "--version"], capture_output=True, text=True,
                                timeout=30, check=False)  # fmt: skip
    except (ToolchainError, OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip().splitlines()[0] if result.stdout.strip() else None


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def git_info(root: Path | None = None) -> dict[str, Any]:
    """The commit the figures belong to, and whether the checkout had uncommitted changes."""
    where = root or project_root()

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=30,
                                    check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


# ---------------------------------------------------------------------------------------------------- the report

SUMMARY: tuple[tuple[str, str, str], ...] = (
    ("gas", "ours_single_gas", "gas of one attestation, ours"),
    ("gas", "eas_single_gas", "gas of one attestation, EAS 1.9.0"),
    ("gas", "ratio_single", "one attestation, ours / EAS"),
    ("gas", "ours_batch_gas_per_record", "gas per record in a Merkle batch of 1,000, ours"),
    ("gas", "eas_multi_gas_per_record", "gas per record in a multiAttest of 100, EAS"),
    ("gas", "ratio_batch_vs_multi", "per record, our batch / EAS multiAttest"),
    ("throughput", "sequential_tx_per_s", "writes per second, send-wait-send"),
    ("throughput", "pipelined_tx_per_s", "writes per second, outbox pipeline"),
    ("throughput", "pipelined_over_sequential", "outbox pipeline / send-wait-send"),
    ("throughput", "batch_records_per_s", "records per second in Merkle batches"),
    ("throughput", "indexer_events_per_s", "indexer events per second"),
    ("oracle", "alert_latency_ms", "oracle: anomaly to case on chain, median ms"),
    ("oracle", "alert_latency_p90_ms", "oracle: anomaly to case on chain, p90 ms"),
    ("oracle", "telematics_records_per_s", "oracle: telematics readings anchored per second"),
    ("verify", "verify_p50_ms", "portal: verify a VIN, p50 ms (concurrent clients)"),
    ("verify", "verify_p99_ms", "portal: verify a VIN, p99 ms"),
    ("verify", "verify_req_per_s", "portal: verifications per second"),
    ("risk", "auc", "risk score: AUC on held-out simulated loans"),
    ("risk", "baseline_auc", "static rules: AUC on the same loans"),
    ("risk", "ks", "risk score: KS"),
    ("ocr", "field_accuracy", "OCR intake: fields read right"),
    ("ocr", "vin_exact", "OCR intake: VINs read exactly"),
    ("ocr", "ms_per_page", "OCR intake: ms per page"),
)
SCALE_SUMMARY: tuple[tuple[str, str], ...] = (
    ("single_gas_per_record", "gas per record, single attestations"),
    ("batch_gas_per_record", "gas per record, Merkle batches"),
    ("load_s", "seconds to load the records added at this size"),
    ("indexer_s", "seconds to rebuild the read model"),
    ("indexer_events_per_s", "rebuild: events per second"),
    ("indexer_events_per_s_vs_first", "rebuild: events per second, over the smallest size's"),
    ("verify_vin_cold_p50_ms", "verify a VIN (report built), p50 ms"),
    ("verify_vin_cold_p50_ms_vs_first", "verify a VIN (report built), over the smallest size's"),
    ("verify_document_p50_ms", "verify a document, p50 ms"),
    ("verify_document_p50_ms_vs_first", "verify a document, over the smallest size's"),
)
CHART_FILES = ("gas.svg", "throughput.svg", "scale-gas.svg", "scale-time.svg", "scale-verify.svg")


def build_report(
    runs: Sequence[BenchRun],
    *,
    started_at: datetime,
    seconds: float,
    command: Sequence[str],
    machine_before: dict[str, Any],
    load_after: Sequence[float],
    git: dict[str, Any],
) -> dict[str, Any]:
    """The JSON report."""
    machine = {**machine_before, "load_average_start": machine_before.get("load_average"),
               "load_average_end": [round(x, 2) for x in load_after]}  # fmt: skip
    machine.pop("load_average", None)
    benches = {run.name: {k: v for k, v in asdict(run).items() if k != "name"} for run in runs}
    return {
        "generated_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "command": list(command),
        "git": git,
        "machine": machine,
        "benches": benches,
        "summary": summary_rows(benches),
    }


def summary_rows(benches: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The figures that matter side by side, from whichever benchmarks ran."""
    rows = []
    for bench, key, label in SUMMARY:
        value = (benches.get(bench, {}).get("figures") or {}).get(key)
        if isinstance(value, int | float):
            rows.append({"bench": bench, "figure": key, "label": label, "value": value})
    points = (benches.get("scale", {}).get("figures") or {}).get("points")
    if isinstance(points, list) and points and isinstance(points[-1], dict):
        last = points[-1]
        for key, label in SCALE_SUMMARY:
            value = last.get(key)
            if isinstance(value, int | float):
                rows.append({"bench": "scale", "figure": key, "value": value,
                             "label": f"{label} (at {last.get('records', '?'):,} records)"})  # fmt: skip
    return rows


def format_figure(value: Any) -> str:
    """A figure as the Markdown tables show it."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{value:,.0f}"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(format_figure(v) for v in value)
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _figure_tables(figures: dict[str, Any]) -> list[str]:
    """A benchmark's figures as Markdown: scalars in one table, each list of objects as a table of its own."""
    lines = ["| figure | value |", "|---|---:|"]
    series: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in figures.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            series.append((key, value))
        elif isinstance(value, dict):
            lines += [f"| {_cell(f'{key}.{k}')} | {_cell(format_figure(v))} |" for k, v in value.items()]
        else:
            lines.append(f"| {_cell(key)} | {_cell(format_figure(value))} |")
    for key, items in series:
        head = next(iter(items[0]))
        names = list(dict.fromkeys(k for item in items for k in item if k != head))
        lines += ["", f"`{key}`, one column per {head}:", ""]
        lines.append("| figure | " + " | ".join(_cell(format_figure(item.get(head))) for item in items) + " |")
        lines.append("|---|" + "---:|" * len(items))
        for name in names:
            lines.append(f"| {_cell(name)} | " + " | ".join(_cell(format_figure(i.get(name))) for i in items) + " |")
    return lines


def render_markdown(report: dict[str, Any], charts: dict[str, str]) -> str:
    """``report.md``: the context, the summary, one section per benchmark with its charts, then the failures."""
    git, machine = report["git"], report["machine"]
    commit = (git.get("commit") or "unknown")[:12]
    dirty = " (with uncommitted changes)" if git.get("dirty") else ""
    lines = [
        "# Benchmark report",
        "",
        f"Run {report['generated_at']} in {report['seconds']:,.0f} s, commit `{commit}` on `{git.get('branch')}`"
        f"{dirty}: `{shlex.join(report['command'])}`.",
        "",
        f"Machine: {machine.get('cpu')}, {machine.get('logical_cpus')} logical CPUs, {machine.get('memory_gb')} GB; "
        f"{machine.get('os')}; Python {machine.get('python')}; {machine.get('anvil')}. Load average "
        f"{format_figure(machine.get('load_average_start'))} at the start, "
        f"{format_figure(machine.get('load_average_end'))} at the end.",
        "",
        "> Figures depend on the machine and on whatever else runs on it. Gas is exact and repeatable; times and "
        "rates are not: compare the ratios (`ratio_*`, `*_over_*`, `*_vs_first`) rather than absolute times, and "
        "absolute times only with runs on the same machine. What every figure means: `docs/benchmarks.md`.",
        "",
        "## Summary",
        "",
        "| bench | figure | value |",
        "|---|---|---:|",
    ]
    lines += [f"| {r['bench']} | {_cell(r['label'])} | {format_figure(r['value'])} |" for r in report["summary"]]
    lines += ["", "## Benchmarks run", "", "| bench | status | seconds | command |", "|---|---|---:|---|"]
    for name, run in report["benches"].items():
        shown = shlex.join(["consortium", *run["command"][3:]]) if run["command"] else ""
        lines.append(f"| {name} | {run['status']} | {format_figure(run['seconds'])} | `{_cell(shown)}` |")
    for name, run in report["benches"].items():
        lines += ["", f"## {name}", ""]
        if run["status"] != "ok":
            lines += [f"**{run['status']}** after {run['seconds']} s (log: `{run.get('log')}`):", "", "```",
                      str(run.get("error") or ""), "```"]  # fmt: skip
            continue
        lines += _figure_tables(run["figures"] or {})
        for file, (bench, title) in _CHART_OWNERS.items():
            if bench == name and file in charts:
                lines += ["", f"![{title}]({file})"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- charts

_CHART_OWNERS = {
    "gas.svg": ("gas", "gas per record, ours against EAS"),
    "throughput.svg": ("throughput", "writes, records and events per second"),
    "scale-gas.svg": ("scale", "gas per record by number of records"),
    "scale-time.svg": ("scale", "loading and rebuilding time by number of records"),
    "scale-verify.svg": ("scale", "verify latency by number of records"),
}


def _figures(report: dict[str, Any], bench: str) -> dict[str, Any]:
    run = report["benches"].get(bench) or {}
    return run.get("figures") or {} if run.get("status") == "ok" else {}


def _bars(figures: dict[str, Any], wanted: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
    return [(label, float(figures[key])) for key, label in wanted if isinstance(figures.get(key), int | float)]


Series = list[tuple[str, list[tuple[float, float]]]]


def _lines(points: list[dict[str, Any]], wanted: Sequence[tuple[str, str]]) -> Series:
    series: Series = []
    for key, label in wanted:
        line = [(float(p["records"]), float(p[key])) for p in points if isinstance(p.get(key), int | float)]
        if line:
            series.append((label, line))
    return series


def draw_charts(report: dict[str, Any]) -> dict[str, str]:
    """The charts the report's figures allow (file name -> SVG); a chart whose figures are missing is left out."""
    charts: dict[str, str] = {}
    gas = _bars(_figures(report, "gas"), [("ours_single_gas", "ours: attest"), ("eas_single_gas", "EAS: attest"),
                                          ("ours_batch_gas_per_record", "ours: batch of 1,000"),
                                          ("eas_multi_gas_per_record", "EAS: multiAttest of 100")])  # fmt: skip
    if gas:
        charts["gas.svg"] = bar_chart("Gas per record, ours against EAS 1.9.0", gas, y_label="gas (log)", log=True)
    throughput = _bars(_figures(report, "throughput"), [("sequential_tx_per_s", "send-wait-send"),
                                                        ("pipelined_tx_per_s", "outbox pipeline"),
                                                        ("batch_records_per_s", "Merkle batch records"),
                                                        ("indexer_events_per_s", "indexer events")])  # fmt: skip
    if throughput:
        charts["throughput.svg"] = bar_chart("Per second on Anvil", throughput, y_label="per second (log)", log=True)
    points = [p for p in _figures(report, "scale").get("points") or [] if isinstance(p, dict) and "records" in p]
    scale_charts = (
        ("scale-gas.svg", "Gas per record by number of records", "gas (log)", True,
         [("single_gas_per_record", "single attestations"), ("batch_gas_per_record", "Merkle batches")]),
        ("scale-time.svg", "Seconds by number of records", "seconds (log)", True,
         [("load_s", "load the records added"), ("indexer_s", "rebuild the read model")]),
        ("scale-verify.svg", "Verify latency (p50) by number of records", "milliseconds", False,
         [("verify_vin_cold_p50_ms", "VIN, report built"), ("verify_vin_warm_p50_ms", "VIN, cached"),
          ("verify_document_p50_ms", "document")]),
    )  # fmt: skip
    for file, title, y_label, log_y, wanted in scale_charts:
        series = _lines(points, wanted)
        if not series:
            continue
        try:
            charts[file] = line_chart(title, series, x_label="records on chain (log)", y_label=y_label,
                                      log_x=True, log_y=log_y)  # fmt: skip
        except ChartError as exc:  # e.g. a zero on a log axis: leave the chart out, the table has the figures
            logger.warning("chart %s left out: %s", file, exc)
    return charts


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the charts into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in CHART_FILES:  # charts of an earlier run this run did not draw
        (out / stale).unlink(missing_ok=True)
    charts = draw_charts(report)
    written = []
    for file, svg in charts.items():
        (out / file).write_text(svg, encoding="utf-8")
        written.append(out / file)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report, charts), encoding="utf-8")
    return [out / "report.json", out / "report.md", *written]


def run_all(
    planned: Sequence[tuple[BenchSpec, list[str]]],
    *,
    out: Path,
    command: Sequence[str],
    timeout: float = 3600.0,
    on_start: Callable[[str, list[str]], None] | None = None,
    on_done: Callable[[BenchRun], None] | None = None,
    echo: Callable[[str, str], None] | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Run the planned benchmarks one after the other and write the report; returns it and the files written."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    machine, git = machine_info(), git_info()  # as the run starts: the code and the load it started with
    runs = []
    for spec, args in planned:
        if on_start is not None:
            on_start(spec.name, args)
        run = run_bench(spec, args, log_dir=out / "logs", timeout=timeout,
                        echo=functools.partial(echo, spec.name) if echo is not None else None)  # fmt: skip
        runs.append(run)
        if on_done is not None:
            on_done(run)
    report = build_report(runs, started_at=started_at, seconds=time.perf_counter() - started, command=command,
                          machine_before=machine, load_after=os.getloadavg(), git=git)  # fmt: skip
    return report, write_report(report, out)
