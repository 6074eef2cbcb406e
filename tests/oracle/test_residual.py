from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from pydantic import ValidationError

from oracle.residual import DepreciationEstimator, VehicleFacts, evaluate
from oracle.tools.holdout import held_out_error, simulated_sales

ON = date(2026, 6, 1)


def _facts(**changes: object) -> VehicleFacts:
    values: dict[str, object] = {"new_price_cny": 200_000, "model_year": 2022, "on": ON, "odometer_km": 60_000}
    return VehicleFacts.model_validate(values | changes)


def test_value_falls_with_age_and_mileage_and_follows_condition_and_market() -> None:
    estimator = DepreciationEstimator()
    base = estimator.estimate(_facts())
    assert estimator.estimate(_facts(model_year=2020)) < base
    assert estimator.estimate(_facts(odometer_km=120_000)) < base
    assert estimator.estimate(_facts(condition="poor")) == pytest.approx(base * 0.75)
    assert estimator.estimate(_facts(regional_index=91.0)) == pytest.approx(base * 0.91)  # a 9% regional shock
    assert estimator.estimate(_facts(model_year=1990, odometer_km=900_000)) == pytest.approx(200_000 * 0.15)  # floor


def test_fit_recovers_the_parameters_of_noise_free_sales() -> None:
    truth = DepreciationEstimator(retention=0.82, loss_per_10k_km=0.004)
    sales = [
        (facts, truth.estimate(facts))
        for facts in (
            _facts(model_year=year, odometer_km=km) for year in range(2019, 2026) for km in (5_000, 40_000, 90_000)
        )
    ]
    floored = (_facts(model_year=1995), 200_000 * 0.15)  # at the floor: says nothing about the rates
    fitted = DepreciationEstimator.fit([*sales, floored])
    assert fitted.retention == pytest.approx(0.82, abs=0.002)
    assert fitted.loss_per_10k_km == pytest.approx(0.004, abs=0.0005)
    assert evaluate(fitted, sales).mape < 0.5


def test_bad_inputs_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least 3 sales"):
        DepreciationEstimator.fit([(_facts(), 100_000.0)])
    with pytest.raises(ValueError, match="sale price must be positive"):
        DepreciationEstimator.fit([(_facts(), 0.0)] * 3)
    with pytest.raises(ValidationError, match="new_price_cny"):
        _facts(new_price_cny=-1)
    with pytest.raises(ValueError, match="no sales to evaluate on"):
        evaluate(DepreciationEstimator(), [])


def test_held_out_error_is_reproducible_from_the_seed_and_small_on_simulated_sales() -> None:
    first, second = held_out_error(7), held_out_error(7)
    assert first == second
    assert first["data"] == "simulated (market simulator)"
    assert first["held_out_sales"] > 100
    assert 0 < float(first["mape_pct"]) < 10  # the simulator prices sales within +-7% of its own depreciation
    assert held_out_error(8) != first
    assert len(simulated_sales(7, days=60)) < len(simulated_sales(7, days=365))


def test_consortium_oracle_residual_prints_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "consortium.cli", "oracle", "residual", "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert json.loads(out)["model_version"].startswith("depreciation-v1")
