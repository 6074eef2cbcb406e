"""The report's SVG charts: well-formed, labelled, values placed on the scale they claim."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from consortium.bench.charts import ChartError, bar_chart, format_value, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _bar_heights(svg: str) -> dict[str, float]:
    root = ET.fromstring(svg)
    heights = {}
    for rect in root.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None and title.text:
            heights[title.text.split(":")[0]] = float(rect.attrib["height"])
    return heights


def test_bars_grow_with_their_values_on_a_linear_and_a_log_axis() -> None:
    bars = [("small", 10.0), ("big", 1000.0), ("middle", 100.0)]
    linear = _bar_heights(bar_chart("linear", bars, y_label="gas"))
    assert linear["small"] < linear["middle"] < linear["big"]
    assert linear["middle"] == pytest.approx(linear["big"] / 10, rel=0.01)  # proportional from zero
    log = _bar_heights(bar_chart("log", bars, y_label="gas", log=True))
    # a decade is the same height wherever it is
    assert log["middle"] - log["small"] == pytest.approx(log["big"] - log["middle"], rel=0.01)


def test_text_is_escaped_and_the_chart_says_what_it_shows() -> None:
    svg = line_chart("a <b> & c", [("ours & theirs", [(10, 1.0), (100, 2.0)])], x_label="records",
                     y_label="ms", log_x=True)  # fmt: skip
    root = ET.fromstring(svg)  # well-formed despite the markup in the labels
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "a <b> & c" in texts
    assert "ours & theirs" in texts
    assert root.attrib["aria-label"] == "a <b> & c"
    points = root.find(f"{SVG}polyline")
    assert points is not None
    xs = [float(p.split(",")[0]) for p in points.attrib["points"].split()]
    assert xs == sorted(xs)
    assert len(xs) == 2


def test_a_log_axis_takes_positive_values_only() -> None:
    with pytest.raises(ChartError, match="positive"):
        bar_chart("gas", [("zero", 0.0)], y_label="gas", log=True)
    with pytest.raises(ChartError, match="finite"):
        line_chart("ms", [("nan", [(1.0, float("nan"))])], x_label="x", y_label="y")
    with pytest.raises(ChartError, match="at least one"):
        bar_chart("empty", [], y_label="gas")


def test_values_are_labelled_short() -> None:
    assert [format_value(v) for v in (1_250_000.0, 45_300.0, 3.5, 0.0123)] == ["1.25M", "45.3k", "3.5", "0.0123"]
    assert re.fullmatch(r"[0-9.]+k", format_value(64_056.0))
