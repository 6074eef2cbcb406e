"""``consortium bench scale``'s workload and its refusals (the measuring itself runs in
tests/consortium/test_benchreport.py, through ``consortium bench all`` at tiny sizes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from consortium_portal.tools.bench import CLAIM, INSPECTION
from consortium_portal.tools.scale import ScaleBenchError, make_records, scale_report, vin_of
from node_adapter.encoding import subject_id, validate_vin

KEY = b"k" * 32


def test_records_alternate_inspections_and_claims_about_well_formed_vins() -> None:
    records = make_records(8, 14, records_per_vehicle=4, key=KEY)
    assert [r.index for r in records] == list(range(8, 14))
    assert [r.vin for r in records] == [vin_of(2)] * 4 + [vin_of(3)] * 2
    assert [r.kind for r in records] == [INSPECTION, CLAIM] * 3
    assert [r.reading for r in records] == [1_000, None, 3_000, None, 1_000, None]  # rising per vehicle
    for record in records:
        assert validate_vin(record.vin, check_digit=True) == record.vin
        assert record.subject == subject_id(record.vin, KEY)
        assert record.document.verify()
        assert record.document.document["vin"] == record.vin
    assert len({r.document.digest for r in records}) == len(records)
    assert vin_of(0) != vin_of(1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": []}, "at least 1"),
        ({"sizes": [0, 10]}, "at least 1"),
        ({"sizes": [10], "batch_size": 0}, "at least 1"),
        ({"sizes": [10_000_001]}, "at most 10,000,000 records"),
    ],
)
def test_impossible_requests_are_refused_before_a_node_starts(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScaleBenchError, match=message):
        scale_report(**kwargs)  # type: ignore[arg-type]


def test_the_command_says_what_is_wrong_with_sizes() -> None:
    command = [sys.executable, "-m", "consortium.cli", "bench", "scale", "--sizes", "1000,lots"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert result.returncode == 2
    assert "comma-separated record counts" in result.stderr
