"""A simulated loan portfolio whose outcomes depend on the same latent factors the score looks at.

SIMULATED DATA: nothing here is a real vehicle, borrower or loan; figures computed on it say how the method behaves on
data built this way, not how it would do on a real book.

Each loan draws four latent factors (seeded ``random.Random``; the same seed gives the same portfolio, bit for bit):

| factor         | distribution         | what it drives                                                       |
|----------------|----------------------|----------------------------------------------------------------------|
| ``care``       | N(0, 1)              | fewer accidents and repairs, regular maintenance, honest odometer    |
| ``aggression`` | N(0, 1)              | accidents (and their severity), crashes, harsh driving, speeding     |
| ``stress``     | N(0, 1)              | the borrower's finances: night driving, leaving the region, high LTV |
| ``region``     | one of 8             | the regional index's volatility (0.04 .. 0.32)                       |

and a vehicle age of 0.5 to 10 years (older cars have had more time to collect accidents and repairs). The inputs of
the score (:data:`oracle.risk.model.INPUTS`) are drawn from these with noise. The outcome is drawn from a hazard

    h = -3.1 + 0.9 stress + 0.55 aggression - 0.5 care + 3.0 (ltv - 0.7) + 5.0 (volatility - 0.15) + N(0, 0.6)

``disposal`` with probability sigmoid(h); otherwise ``cured`` (went overdue, then caught up) with probability
sigmoid(h + 1.2), else ``clean``. About 5% of loans have no telematics (their behaviour inputs are missing) and about
1% carry a broken value (a negative count), as real feeds do: the score marks those partial.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["clean", "cured", "disposal"]
REGION_VOLATILITY: tuple[float, ...] = (0.04, 0.07, 0.10, 0.13, 0.17, 0.21, 0.26, 0.32)
TELEMATICS_INPUTS = ("crash_events", "harsh_events_per_100km", "speeding_share", "night_share", "geofence_exits")


@dataclass(frozen=True)
class SimulatedLoan:
    """One simulated loan: its latent factors (hidden from the score), the score's inputs, and how it ended."""

    loan_ref: str
    care: float
    aggression: float
    stress: float
    region: int
    age_years: float
    inputs: dict[str, Any]
    outcome: Outcome

    @property
    def bad(self) -> bool:
        """The event the score is calibrated to predict: the loan went to disposal."""
        return self.outcome == "disposal"


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (means here stay small), so the draws depend on ``rng`` alone."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate_loan(rng: random.Random, number: int) -> SimulatedLoan:
    care, aggression, stress = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)
    region = rng.randrange(len(REGION_VOLATILITY))
    volatility = REGION_VOLATILITY[region]
    age = rng.uniform(0.5, 10.0)

    accidents = _poisson(rng, age * 0.08 * math.exp(0.6 * aggression - 0.25 * care))
    severe_p = _sigmoid(-2.0 + 0.8 * aggression)
    severities = [
        "severe" if u < severe_p else "moderate" if u < severe_p + 0.35 else "minor"
        for u in (rng.random() for _ in range(accidents))
    ]
    unrated = sum(1 for _ in severities if rng.random() < 0.15)
    rated = severities[unrated:]
    repairs_major = _poisson(rng, age * 0.06 * math.exp(-0.6 * care)) + sum(1 for s in severities if s != "minor")
    repairs_minor = _poisson(rng, age * 0.5 * math.exp(-0.5 * care))
    value = 180_000 * 0.88**age * math.exp(rng.gauss(0, 0.25))
    ltv = min(1.6, max(0.05, rng.uniform(0.3, 1.0) + 0.12 * stress))
    inputs: dict[str, Any] = {
        "accidents_minor": rated.count("minor"),
        "accidents_moderate": rated.count("moderate"),
        "accidents_severe": rated.count("severe"),
        "accidents_unrated": unrated,
        "repairs_minor": repairs_minor,
        "repairs_major": repairs_major,
        "crash_events": _poisson(rng, 0.25 * math.exp(0.7 * aggression)),
        "maintenance_regularity": round(_sigmoid(1.2 + 0.9 * care + rng.gauss(0, 0.5)), 4),
        "odometer_inconsistencies": _poisson(rng, 0.05 * math.exp(-0.9 * care)),
        "harsh_events_per_100km": round(math.exp(0.2 + 0.6 * aggression + rng.gauss(0, 0.35)), 3),
        "speeding_share": round(_sigmoid(-3.2 + 0.9 * aggression + rng.gauss(0, 0.4)), 4),
        "night_share": round(_sigmoid(-2.2 + 0.6 * stress + 0.3 * aggression + rng.gauss(0, 0.4)), 4),
        "geofence_exits": _poisson(rng, 0.12 * math.exp(0.8 * stress)),
        "violation_points": sum(
            rng.choice((1, 2, 3, 6)) for _ in range(_poisson(rng, 1.2 * math.exp(0.6 * aggression)))
        ),
        "estimated_value_cny": round(value),
        "outstanding_cny": round(value * ltv),
        "index_volatility": round(volatility * math.exp(rng.gauss(0, 0.1)), 4),
    }
    if rng.random() < 0.05:
        for name in TELEMATICS_INPUTS:
            inputs[name] = None
    if rng.random() < 0.01:
        inputs[rng.choice(("repairs_minor", "violation_points", "geofence_exits"))] = -1
    hazard = (
        -3.1
        + 0.9 * stress
        + 0.55 * aggression
        - 0.5 * care
        + 3.0 * (ltv - 0.7)
        + 5.0 * (volatility - 0.15)
        + rng.gauss(0, 0.6)
    )
    if rng.random() < _sigmoid(hazard):
        outcome: Outcome = "disposal"
    elif rng.random() < _sigmoid(hazard + 1.2):
        outcome = "cured"
    else:
        outcome = "clean"
    return SimulatedLoan(
        loan_ref=f"SIM-{number:06d}",
        care=care,
        aggression=aggression,
        stress=stress,
        region=region,
        age_years=age,
        inputs=inputs,
        outcome=outcome,
    )


def simulate_portfolio(seed: int, loans: int) -> list[SimulatedLoan]:
    """``loans`` simulated loans; the same seed and size give the same portfolio."""
    if loans < 10:
        raise ValueError(f"a portfolio needs at least 10 loans, not {loans}")
    rng = random.Random(seed)  # noqa: S311 (a simulation: reproducible, not secret)
    return [simulate_loan(rng, n) for n in range(1, loans + 1)]
