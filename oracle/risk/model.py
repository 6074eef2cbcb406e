"""The risk score: pure, deterministic, recomputable from its inputs and its model version.

A vehicle's (or a loan's) inputs are raw counts, shares and amounts (:data:`INPUTS`). Each of the twelve features
(:data:`FEATURES`) turns some of them into a risk level ``x`` in [0, 1] by a fixed monotone transform: more
accidents, a higher share of night driving, a higher loan-to-value never lower ``x``. The model parameters
(:class:`ModelParameters`, a versioned JSON file written by calibration) give each feature its points, whole
hundredths of a score point that add up to exactly 10,000. The score is computed in those hundredths:

    penalty(f)        = round(points(f) * x(f))
    contribution(dim) = sum of points(f) - sum of penalty(f), over the features of the dimension
    score             = sum of contribution(dim)            (0 .. 10,000 hundredths, i.e. 0 .. 100.00)

so the three dimensions' contributions add up to the score exactly, and a higher score is a safer vehicle. The score
in hundredths is what ``CollateralManager.reportRiskWarning`` takes (its scale is 0 .. 10,000).

An input that is missing, or that is not a number in its range, is never silently read as zero: its feature takes
the population mean level the calibration saw (``imputation`` in the parameters), the feature is listed under
``imputed`` with the reason, and the score is marked ``partial``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from node_adapter.encoding import canonical_json
from node_adapter.exceptions import NodeAdapterError
from node_adapter.shared.risk import Calibration

FAMILY = "risk/1"
"""The feature set and transforms below; a parameters file names the family it was calibrated for."""
SCALE = 10_000
"""The score in hundredths of a point: 100.00 is 10,000 (the contract's scale)."""
DEFAULT_MODEL_VERSION = "r1.s7.n4000"
"""The parameters shipped with the package (calibrated on the simulated portfolio, seed 7, 4,000 loans)."""

Dimension = Literal["health", "behaviour", "market"]
DIMENSIONS: tuple[Dimension, ...] = ("health", "behaviour", "market")


class RiskModelError(NodeAdapterError, ValueError):
    """A model version that is unknown, or a parameters file that is not a valid model (says which)."""


# ------------------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class InputSpec:
    """One raw input: what it means and its valid range (``integer``: a count)."""

    name: str
    meaning: str
    low: float
    high: float
    integer: bool = False
    low_open: bool = False

    def check(self, value: Any) -> tuple[float | None, str | None]:
        """The value as a float, or None and why it is not acceptable."""
        if value is None:
            return None, "missing"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"not a number: {value!r}"
        number = float(value)
        if not math.isfinite(number):
            return None, f"not finite: {value!r}"
        if self.integer and number != int(number):
            return None, f"not a whole count: {value!r}"
        if number < self.low or number > self.high or (self.low_open and number == self.low):
            bound = "above 0" if self.low_open else f"between {self.low:g} and {self.high:g}"
            return None, f"out of range: {value!r} (must be {bound})"
        return number, None


def _count(name: str, meaning: str, high: float = 1_000) -> InputSpec:
    return InputSpec(name, meaning, 0, high, integer=True)


def _share(name: str, meaning: str) -> InputSpec:
    return InputSpec(name, meaning, 0.0, 1.0)


INPUTS: dict[str, InputSpec] = {
    spec.name: spec
    for spec in (
        _count("accidents_minor", "accidents rated minor"),
        _count("accidents_moderate", "accidents rated moderate"),
        _count("accidents_severe", "accidents rated severe or total loss"),
        _count("accidents_unrated", "accidents whose severity is not known (weighted as moderate)"),
        _count("repairs_minor", "repairs without structural or accident-related work"),
        _count("repairs_major", "accident-related or structural repairs"),
        _count("crash_events", "crash events reported by the T-Box"),
        _share("maintenance_regularity", "services done over services due (1: every service on time)"),
        _count("odometer_inconsistencies", "odometer rollbacks and unexplained jumps"),
        InputSpec("harsh_events_per_100km", "harsh braking and acceleration events per 100 km", 0, 1_000),
        _share("speeding_share", "share of driving time above the speed limit"),
        _share("night_share", "share of driving time between 22:00 and 06:00"),
        _count("geofence_exits", "exits from the registration region"),
        _count("violation_points", "DMV violation points", high=10_000),
        InputSpec("estimated_value_cny", "residual value estimate", 0, 1e9, low_open=True),
        InputSpec("outstanding_cny", "outstanding loan balance (0 without a loan)", 0, 1e9),
        InputSpec("index_volatility", "annualised volatility of the regional price index", 0, 5),
    )
}


# ------------------------------------------------------------------------------------------------------------ features


def _saturating(value: float, scale: float) -> float:
    """0 at 0, rising towards 1; ``scale`` is where it reaches 63%."""
    return 1.0 - math.exp(-value / scale)


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Feature:
    """A risk level in [0, 1] from some inputs, by a monotone transform (non-decreasing in each input but where
    ``meaning`` says otherwise: maintenance regularity and the estimated value lower the risk)."""

    name: str
    dimension: Dimension
    inputs: tuple[str, ...]
    meaning: str
    level: Callable[..., float]


FEATURES: tuple[Feature, ...] = (
    Feature(
        "accidents",
        "health",
        ("accidents_minor", "accidents_moderate", "accidents_severe", "accidents_unrated"),
        "severity-weighted accidents (minor 1, moderate 2.5, severe 5, unrated 2.5), saturating at scale 5",
        lambda mi, mo, se, un: _saturating(mi + 2.5 * mo + 5.0 * se + 2.5 * un, 5.0),
    ),
    Feature(
        "repairs",
        "health",
        ("repairs_minor", "repairs_major"),
        "weighted repairs (minor 1, major 3), saturating at scale 8",
        lambda mi, ma: _saturating(mi + 3.0 * ma, 8.0),
    ),
    Feature("crashes", "health", ("crash_events",), "T-Box crash events, scale 2", lambda n: _saturating(n, 2.0)),
    Feature(
        "maintenance",
        "health",
        ("maintenance_regularity",),
        "services missed: 1 - regularity",
        lambda r: _clip(1.0 - r),
    ),
    Feature(
        "odometer",
        "health",
        ("odometer_inconsistencies",),
        "odometer inconsistencies, scale 1",
        lambda n: _saturating(n, 1.0),
    ),
    Feature(
        "harsh_driving",
        "behaviour",
        ("harsh_events_per_100km",),
        "harsh braking and acceleration per 100 km, scale 3",
        lambda r: _saturating(r, 3.0),
    ),
    Feature("speeding", "behaviour", ("speeding_share",), "speeding share, scale 0.1", lambda s: _saturating(s, 0.1)),
    Feature("night_driving", "behaviour", ("night_share",), "night share, full at 50%", lambda s: _clip(s / 0.5)),
    Feature(
        "geofence",
        "behaviour",
        ("geofence_exits",),
        "exits from the registration region, scale 1.5",
        lambda n: _saturating(n, 1.5),
    ),
    Feature(
        "violations",
        "behaviour",
        ("violation_points",),
        "DMV violation points, scale 8",
        lambda p: _saturating(p, 8.0),
    ),
    Feature(
        "loan_to_value",
        "market",
        ("outstanding_cny", "estimated_value_cny"),
        "outstanding over estimated value: 0 up to 20%, full at 120%",
        lambda outstanding, value: _clip(outstanding / value - 0.2),
    ),
    Feature(
        "volatility",
        "market",
        ("index_volatility",),
        "regional index volatility, scale 0.15",
        lambda v: _saturating(v, 0.15),
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def feature_levels(inputs: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    """Each feature's level from ``inputs``, and the features that could not be computed with the reason."""
    levels: dict[str, float] = {}
    problems: dict[str, str] = {}
    for feature in FEATURES:
        values: list[float] = []
        reasons: list[str] = []
        for name in feature.inputs:
            value, reason = INPUTS[name].check(inputs.get(name))
            if value is None:
                reasons.append(f"{name}: {reason}")
            else:
                values.append(value)
        if reasons:
            problems[feature.name] = "; ".join(reasons)
        else:
            levels[feature.name] = _clip(float(feature.level(*values)))
    return levels, problems


# ------------------------------------------------------------------------------------------------------- parameters


class ModelParameters(BaseModel):
    """A versioned model: points per feature (hundredths, summing to 10,000) and the imputation levels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    version: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")
    points: dict[str, int]
    imputation: dict[str, float]
    intercept: float
    coefficients: dict[str, float]
    calibration: Calibration

    def model_post_init(self, _context: Any) -> None:
        if self.family != FAMILY:
            raise RiskModelError(f"model {self.version} is of family {self.family!r}; this code computes {FAMILY!r}")
        for field in ("points", "imputation", "coefficients"):
            names = set(getattr(self, field))
            if names != set(FEATURE_NAMES):
                raise RiskModelError(f"model {self.version}: {field} must name exactly the features {FEATURE_NAMES}")
        if any(p < 0 for p in self.points.values()) or sum(self.points.values()) != SCALE:
            raise RiskModelError(f"model {self.version}: points must be non-negative and add up to {SCALE}")
        if any(not 0.0 <= x <= 1.0 for x in self.imputation.values()):
            raise RiskModelError(f"model {self.version}: imputation levels must lie in [0, 1]")

    def canonical(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def digest(self) -> str:
        """keccak-256 of the parameters' canonical JSON: what is anchored on chain (no salt: anyone can check it)."""
        return "0x" + keccak(self.canonical()).hex()

    def dimension_points(self, dimension: Dimension) -> int:
        return sum(self.points[f.name] for f in FEATURES if f.dimension == dimension)


def load_parameters(path: Path) -> ModelParameters:
    """A parameters file (raises :class:`RiskModelError` saying what is wrong with it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RiskModelError(f"cannot read model parameters {path}: {exc}") from exc
    try:
        return ModelParameters.model_validate(data)
    except ValueError as exc:
        raise RiskModelError(f"{path} is not a valid risk model: {exc}") from exc


def shipped_models_dir() -> Path:
    return Path(str(resources.files("oracle.risk") / "models"))


@cache
def _shipped(version: str) -> ModelParameters | None:
    path = shipped_models_dir() / f"{version}.json"
    return load_parameters(path) if path.is_file() else None


def get_model(version: str, extra_dirs: tuple[Path, ...] = ()) -> ModelParameters:
    """The parameters of ``version``: shipped with the package or in one of ``extra_dirs`` (``<version>.json``)."""
    if not version or "/" in version or version.startswith("."):
        raise RiskModelError(f"not a model version: {version!r}")
    for directory in extra_dirs:
        path = directory / f"{version}.json"
        if path.is_file():
            model = load_parameters(path)
            if model.version != version:
                raise RiskModelError(f"{path} holds model {model.version}, not {version}")
            return model
    shipped = _shipped(version)
    if shipped is None:
        raise RiskModelError(f"unknown risk model version {version!r}")
    return shipped


# ------------------------------------------------------------------------------------------------------------ score


class FeatureScore(BaseModel):
    """One feature's part of a score: its level, the points it could cost and the points it cost."""

    model_config = ConfigDict(frozen=True)

    feature: str
    level: float
    points: int
    penalty: int
    imputed: str | None = None
    """Why the level is the model's imputation level instead of one computed from the inputs."""


class DimensionScore(BaseModel):
    """A dimension's contribution to the score (hundredths) out of its points, and the records behind it."""

    model_config = ConfigDict(frozen=True)

    dimension: Dimension
    contribution: int
    points: int
    features: list[FeatureScore]
    records: list[str]

    @property
    def sub_score(self) -> float:
        """The dimension on its own, 0-100."""
        return round(100 * self.contribution / self.points, 2) if self.points else 100.0


class RiskScore(BaseModel):
    """A score, its breakdown and the model it was computed with."""

    model_config = ConfigDict(frozen=True)

    score: int
    """0 .. 10,000: hundredths of a point (``score / 100`` is the 0-100 figure)."""
    partial: bool
    imputed: dict[str, str]
    dimensions: list[DimensionScore]
    model_version: str
    model_digest: str

    @property
    def value(self) -> float:
        return self.score / 100

    def dimension(self, name: Dimension) -> DimensionScore:
        return next(d for d in self.dimensions if d.dimension == name)


def compute_score(
    inputs: Mapping[str, Any], model: ModelParameters, records: Mapping[str, list[str]] | None = None
) -> RiskScore:
    """The score of ``inputs`` under ``model``; ``records`` names, per input, the records it was computed from."""
    if not isinstance(inputs, Mapping):
        raise RiskModelError(f"risk inputs must be an object of named values, not {type(inputs).__name__}")
    levels, problems = feature_levels(inputs)
    unknown = sorted(set(inputs) - set(INPUTS))
    dimensions: list[DimensionScore] = []
    for dimension in DIMENSIONS:
        parts: list[FeatureScore] = []
        behind: set[str] = set()
        for feature in (f for f in FEATURES if f.dimension == dimension):
            level = levels.get(feature.name, model.imputation[feature.name])
            points = model.points[feature.name]
            parts.append(
                FeatureScore(
                    feature=feature.name,
                    level=round(level, 6),
                    points=points,
                    penalty=math.floor(points * level + 0.5),
                    imputed=problems.get(feature.name),
                )
            )
            for name in feature.inputs:
                behind.update((records or {}).get(name, []))
        total = sum(p.points for p in parts)
        dimensions.append(
            DimensionScore(
                dimension=dimension,
                contribution=total - sum(p.penalty for p in parts),
                points=total,
                features=parts,
                records=sorted(behind),
            )
        )
    imputed = dict(problems)
    if unknown:
        imputed["(unknown inputs)"] = ", ".join(unknown)
    return RiskScore(
        score=sum(d.contribution for d in dimensions),
        partial=bool(imputed),
        imputed=imputed,
        dimensions=dimensions,
        model_version=model.version,
        model_digest=model.digest,
    )


# ------------------------------------------------------------------------------------------------------------ recompute


class Recomputation(BaseModel):
    """Whether an anchored score is what its inputs give under its model, and if not, why."""

    matches: bool
    anchored_score: int | None
    recomputed_score: int | None
    anchored_version: str | None
    recomputed_version: str | None
    problems: list[str]


def recompute(
    document: Mapping[str, Any], *, version: str | None = None, extra_dirs: tuple[Path, ...] = ()
) -> Recomputation:
    """Recompute the score an anchored score document records (``inputs``, ``score``, ``model_version``,
    ``model_digest``, ``dimensions``), with its own model version or ``version`` if given."""
    problems: list[str] = []
    anchored_version = document.get("model_version")
    anchored_score = document.get("score")
    use = version or anchored_version
    if not isinstance(anchored_score, int):
        problems.append("the document carries no integer score")
    if not isinstance(use, str):
        problems.append("the document names no model version")
        return Recomputation(matches=False, anchored_score=None, recomputed_score=None,
                             anchored_version=None, recomputed_version=None, problems=problems)  # fmt: skip
    if version is not None and version != anchored_version:
        problems.append(f"version mismatch: anchored under model {anchored_version}, recomputed with {version}")
    try:
        model = get_model(use, extra_dirs)
    except RiskModelError as exc:
        problems.append(str(exc))
        return Recomputation(matches=False, anchored_score=anchored_score if isinstance(anchored_score, int) else None,
                             recomputed_score=None, anchored_version=str(anchored_version), recomputed_version=use,
                             problems=problems)  # fmt: skip
    if version is None and document.get("model_digest") != model.digest:
        problems.append(
            f"version mismatch: model {use} here has digest {model.digest}, the score was anchored with "
            f"{document.get('model_digest')}"
        )
    inputs = document.get("inputs")
    result = compute_score(inputs if isinstance(inputs, Mapping) else {}, model, document.get("records"))
    if result.score != anchored_score:
        problems.append(f"score differs: anchored {anchored_score}, recomputed {result.score}")
    anchored_dims = {d.get("dimension"): d for d in document.get("dimensions") or [] if isinstance(d, Mapping)}
    for dim in result.dimensions:
        anchored_dim = anchored_dims.get(dim.dimension, {})
        if anchored_dim.get("contribution") != dim.contribution:
            problems.append(
                f"{dim.dimension} contribution differs: anchored {anchored_dim.get('contribution')}, "
                f"recomputed {dim.contribution}"
            )
        # documents since the breakdown was anchored whole also carry each feature's penalty
        penalties = {
            f.get("feature"): f.get("penalty") for f in anchored_dim.get("features") or [] if isinstance(f, Mapping)
        }
        for feature in dim.features:
            if penalties and penalties.get(feature.feature) != feature.penalty:
                problems.append(
                    f"{feature.feature} penalty differs: anchored {penalties.get(feature.feature)}, "
                    f"recomputed {feature.penalty}"
                )
    return Recomputation(
        matches=not problems,
        anchored_score=anchored_score if isinstance(anchored_score, int) else None,
        recomputed_score=result.score,
        anchored_version=str(anchored_version),
        recomputed_version=use,
        problems=problems,
    )


def score_document(
    *, inputs: Mapping[str, Any], records: Mapping[str, list[str]], result: RiskScore, **context: Any
) -> dict[str, Any]:
    """What is stored off chain and whose salted digest is anchored: everything needed to recompute the score."""
    return {
        "type": "risk_score",
        **context,
        "inputs": dict(inputs),
        "records": {k: list(v) for k, v in records.items()},
        "score": result.score,
        "partial": result.partial,
        "imputed": result.imputed,
        "dimensions": [
            {
                "dimension": d.dimension,
                "contribution": d.contribution,
                "points": d.points,
                "features": [f.model_dump(mode="json") for f in d.features],
                "records": d.records,
            }
            for d in result.dimensions
        ],
        "model_version": result.model_version,
        "model_digest": result.model_digest,
    }
