"""The risk score model: monotone, explained to the hundredth, partial on bad input, recomputable, versioned."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle.risk.calibration import (
    auc,
    calibrate,
    calibrate_simulated,
    fit_logistic,
    ks,
    points_from,
    static_rules_score,
)
from oracle.risk.model import (
    DEFAULT_MODEL_VERSION,
    FEATURE_NAMES,
    INPUTS,
    SCALE,
    ModelParameters,
    RiskModelError,
    compute_score,
    get_model,
    load_parameters,
    recompute,
    score_document,
)
from oracle.risk.portfolio import simulate_portfolio

MODEL = get_model(DEFAULT_MODEL_VERSION)

counts = st.integers(min_value=0, max_value=40)
shares = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def complete_inputs(draw: st.DrawFn) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for name, spec in INPUTS.items():
        if spec.integer:
            inputs[name] = draw(counts)
        elif spec.high == 1.0:
            inputs[name] = draw(shares)
        elif name == "estimated_value_cny":
            inputs[name] = draw(st.floats(min_value=1_000, max_value=2_000_000, allow_nan=False))
        elif name == "outstanding_cny":
            inputs[name] = draw(st.floats(min_value=0, max_value=2_000_000, allow_nan=False))
        else:
            inputs[name] = draw(st.floats(min_value=0, max_value=spec.high, allow_nan=False))
    return inputs


def clean_inputs() -> dict[str, Any]:
    loan = next(loan for loan in simulate_portfolio(7, 50) if None not in loan.inputs.values())
    return dict(loan.inputs)


# ------------------------------------------------------------------------------------------------ monotonicity


@settings(max_examples=150, deadline=None)
@given(
    inputs=complete_inputs(),
    severity=st.sampled_from(["accidents_minor", "accidents_moderate", "accidents_severe", "accidents_unrated"]),
    more=st.integers(min_value=1, max_value=10),
)
def test_more_accidents_never_raise_the_health_dimension(inputs: dict[str, Any], severity: str, more: int) -> None:
    before = compute_score(inputs, MODEL)
    after = compute_score({**inputs, severity: inputs[severity] + more}, MODEL)
    assert after.dimension("health").contribution <= before.dimension("health").contribution
    assert after.score <= before.score
    assert not before.partial
    assert not after.partial


@settings(max_examples=100, deadline=None)
@given(inputs=complete_inputs(), more=st.floats(min_value=0, max_value=500_000, allow_nan=False))
def test_a_higher_balance_never_raises_the_market_dimension(inputs: dict[str, Any], more: float) -> None:
    before = compute_score(inputs, MODEL)
    after = compute_score({**inputs, "outstanding_cny": inputs["outstanding_cny"] + more}, MODEL)
    assert after.dimension("market").contribution <= before.dimension("market").contribution


def test_severe_accidents_cost_more_than_minor_ones() -> None:
    base = {**clean_inputs(), "accidents_minor": 0, "accidents_moderate": 0, "accidents_severe": 0}
    minor = compute_score({**base, "accidents_minor": 2}, MODEL).dimension("health").contribution
    severe = compute_score({**base, "accidents_severe": 2}, MODEL).dimension("health").contribution
    assert severe < minor


# ------------------------------------------------------------------------------------------------ explanation


@settings(max_examples=150, deadline=None)
@given(inputs=complete_inputs(), drop=st.sets(st.sampled_from(sorted(INPUTS)), max_size=6))
def test_the_dimensions_add_up_to_the_score(inputs: dict[str, Any], drop: set[str]) -> None:
    result = compute_score({k: v for k, v in inputs.items() if k not in drop}, MODEL)
    assert sum(d.contribution for d in result.dimensions) == result.score
    assert 0 <= result.score <= SCALE
    for dim in result.dimensions:
        assert dim.contribution == dim.points - sum(f.penalty for f in dim.features)
        assert 0 <= dim.contribution <= dim.points
    assert sum(d.points for d in result.dimensions) == SCALE


def test_each_dimension_lists_the_records_behind_it() -> None:
    records = {"accidents_severe": ["0xaa"], "speeding_share": ["0xbb", "0xcc"], "outstanding_cny": ["0xdd"]}
    result = compute_score(clean_inputs(), MODEL, records)
    assert result.dimension("health").records == ["0xaa"]
    assert result.dimension("behaviour").records == ["0xbb", "0xcc"]
    assert result.dimension("market").records == ["0xdd"]


# ------------------------------------------------------------------------------------------------ bad or missing input


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("accidents_severe", None, "missing"),
        ("accidents_severe", -1, "out of range"),
        ("accidents_severe", 1.5, "not a whole count"),
        ("speeding_share", 1.7, "out of range"),
        ("speeding_share", "fast", "not a number"),
        ("night_share", math.nan, "not finite"),
        ("estimated_value_cny", 0, "out of range"),
        ("violation_points", True, "not a number"),
    ],
)
def test_a_bad_or_missing_input_gives_a_partial_score_saying_why(name: str, value: Any, reason: str) -> None:
    inputs = clean_inputs()
    if value is None:
        del inputs[name]
    else:
        inputs[name] = value
    result = compute_score(inputs, MODEL)
    assert result.partial
    (feature,) = result.imputed
    assert name in result.imputed[feature]
    assert reason in result.imputed[feature]
    imputed = next(f for d in result.dimensions for f in d.features if f.feature == feature)
    assert imputed.imputed is not None
    assert imputed.level == pytest.approx(MODEL.imputation[feature], abs=1e-6)
    assert not compute_score(clean_inputs(), MODEL).partial


def test_no_inputs_at_all_is_partial_in_every_feature_not_a_perfect_score() -> None:
    result = compute_score({}, MODEL)
    assert result.partial
    assert set(result.imputed) == set(FEATURE_NAMES)
    assert result.score < SCALE


def test_unknown_inputs_are_reported() -> None:
    result = compute_score({**clean_inputs(), "colour": "red"}, MODEL)
    assert result.partial
    assert "colour" in result.imputed["(unknown inputs)"]


def test_inputs_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(RiskModelError, match="object"):
        compute_score([1, 2], MODEL)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ recomputation


def _document(inputs: dict[str, Any]) -> dict[str, Any]:
    result = compute_score(inputs, MODEL, {"accidents_minor": ["0x01"]})
    return json.loads(json.dumps(score_document(inputs=inputs, records={"accidents_minor": ["0x01"]}, result=result)))


def test_recomputation_of_a_stored_document_matches() -> None:
    check = recompute(_document(clean_inputs()))
    assert check.matches, check.problems
    assert check.recomputed_score == check.anchored_score


def test_an_altered_score_or_input_does_not_match() -> None:
    document = _document(clean_inputs())
    assert not recompute({**document, "score": document["score"] + 1}).matches
    altered = {**document, "inputs": {**document["inputs"], "accidents_severe": 9}}
    check = recompute(altered)
    assert not check.matches
    assert any("score differs" in p for p in check.problems)


def test_a_version_mismatch_is_reported(tmp_path: Path) -> None:
    document = _document(clean_inputs())
    other = ModelParameters.model_validate(
        {**MODEL.model_dump(), "version": "r1.other", "points": {**MODEL.points, "accidents": 0, "odometer": 81}}
    )
    (tmp_path / "r1.other.json").write_text(other.model_dump_json())
    check = recompute(document, version="r1.other", extra_dirs=(tmp_path,))
    assert not check.matches
    assert any("version mismatch" in p for p in check.problems)
    unknown = recompute({**document, "model_version": "r9.nowhere"})
    assert not unknown.matches
    assert any("unknown risk model version" in p for p in unknown.problems)
    changed = recompute({**document, "model_digest": "0x" + "00" * 32})
    assert not changed.matches
    assert any("version mismatch" in p and "digest" in p for p in changed.problems)


def test_a_file_claiming_another_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "r1.x.json").write_text(MODEL.model_dump_json())
    with pytest.raises(RiskModelError, match="holds model"):
        get_model("r1.x", (tmp_path,))
    (tmp_path / "r1.bad.json").write_text(json.dumps({**MODEL.model_dump(), "points": {}}))
    with pytest.raises(RiskModelError, match="not a valid risk model"):
        load_parameters(tmp_path / "r1.bad.json")
    with pytest.raises(RiskModelError, match="not a model version"):
        get_model("../etc")


# ------------------------------------------------------------------------------------------------ calibration


def test_metrics_on_known_cases() -> None:
    assert auc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert auc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert auc([0.5, 0.5, 0.5, 0.5], [False, True, False, True]) == 0.5
    assert ks([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0
    assert ks([0.1, 0.9, 0.1, 0.9], [False, False, True, True]) == 0.0
    with pytest.raises(ValueError, match="both outcomes"):
        auc([0.1, 0.2], [True, True])


def test_the_fit_recovers_a_known_direction_and_keeps_coefficients_non_negative() -> None:
    rng = random.Random(3)
    rows = [[rng.random(), rng.random()] for _ in range(600)]
    y = [rng.random() < 1 / (1 + math.exp(-(-2 + 4 * a - 3 * b))) for a, b in rows]
    intercept, (first, second) = fit_logistic(rows, y)
    assert first > 2.5
    assert second == 0.0  # its true effect is protective: held at zero, never negative
    assert -3 < intercept < -0.5


def test_points_add_up_to_the_scale() -> None:
    points = points_from([0.3, 0.3, 0.3, 0.1, 0, 0, 0, 0, 0, 0, 0, 0.0001])
    assert sum(points.values()) == SCALE
    assert min(points.values()) >= 0
    with pytest.raises(RiskModelError, match="no feature"):
        points_from([0.0] * len(FEATURE_NAMES))


def test_calibration_is_reproducible_from_the_seed_and_beats_the_static_rules() -> None:
    portfolio = simulate_portfolio(11, 1200)
    samples, bad = [loan.inputs for loan in portfolio], [loan.bad for loan in portfolio]
    first = calibrate(samples, bad, version="r1.t", data="simulated", seed=11)
    second = calibrate(samples, bad, version="r1.t", data="simulated", seed=11)
    assert first.digest == second.digest
    assert first.calibration.auc > first.calibration.baseline_auc
    assert first.calibration.ks > first.calibration.baseline_ks
    assert simulate_portfolio(11, 30) == simulate_portfolio(11, 30)
    assert simulate_portfolio(11, 30) != simulate_portfolio(12, 30)


def test_the_shipped_model_is_the_one_its_seed_gives() -> None:
    """The shipped parameters file is reproducible: refitting its portfolio gives the same digest."""
    refit = calibrate_simulated(MODEL.calibration.seed, MODEL.calibration.loans)
    assert refit.version == MODEL.version
    assert refit.digest == MODEL.digest
    assert "simulated" in MODEL.calibration.data


def test_static_rules_stop_counting_after_a_few_records() -> None:
    base = {**clean_inputs(), "accidents_minor": 2, "repairs_minor": 4}
    more = {**base, "accidents_minor": 9, "repairs_minor": 20}
    assert static_rules_score(base) == static_rules_score(more)
    assert compute_score(more, MODEL).score < compute_score(base, MODEL).score
