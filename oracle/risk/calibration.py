"""Calibration: refit the score's weights on loans whose outcome is known, and measure it on held-out loans.

The weights are a logistic regression of "went to disposal" on the twelve feature levels, with every coefficient
held non-negative (a feature is a risk level: it may only lower the score, which keeps the score monotone in each
input), fitted by projected Newton steps on 70% of the loans. The points of a feature are its coefficient's share of
the sum of coefficients, in hundredths of a point: the score is then a decreasing affine function of the regression's
linear predictor, so it ranks loans exactly as the fitted probability does. Missing inputs are imputed with the
training set's mean level of the feature (also what the score uses later).

Discrimination is measured on the 30% held out, for the score and for the static rules lenders use today
(:func:`static_rules_score`): AUC (the chance that a loan that went to disposal scores below one that did not,
ties counted half) and KS (the largest gap between the two groups' cumulative score distributions).

Everything is plain Python floats in a fixed order, so the same loans and seed give the same parameters file, bit for
bit, on any machine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from node_adapter.shared.risk import Calibration
from oracle.risk.model import (
    FAMILY,
    FEATURE_NAMES,
    SCALE,
    ModelParameters,
    RiskModelError,
    compute_score,
    feature_levels,
)
from oracle.risk.portfolio import simulate_portfolio

HELD_OUT_SHARE = 0.3
L2 = 1e-3


# ------------------------------------------------------------------------------------------------------------ metrics


def auc(risk: Sequence[float], bad: Sequence[bool]) -> float:
    """Area under the ROC curve of ``risk`` (higher: riskier) for the ``bad`` labels (Mann-Whitney, ties half)."""
    order = sorted(range(len(risk)), key=lambda i: risk[i])
    ranks = [0.0] * len(risk)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and risk[order[j + 1]] == risk[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(bad)
    negatives = len(bad) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both outcomes among the loans")
    rank_sum = sum(r for r, b in zip(ranks, bad, strict=True) if b)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def ks(risk: Sequence[float], bad: Sequence[bool]) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the bad and good loans' cumulative distributions."""
    positives = sum(bad)
    negatives = len(bad) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("KS needs both outcomes among the loans")
    pairs = sorted(zip(risk, bad, strict=True), key=lambda p: -p[0])
    best = seen_bad = seen_good = 0.0
    for index, (value, is_bad) in enumerate(pairs):
        if is_bad:
            seen_bad += 1
        else:
            seen_good += 1
        if index + 1 == len(pairs) or pairs[index + 1][0] != value:
            best = max(best, abs(seen_bad / positives - seen_good / negatives))
    return best


# ------------------------------------------------------------------------------------------------------------ baseline


def _number(inputs: Mapping[str, Any], name: str) -> float:
    value = inputs.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 0.0


def static_rules_score(inputs: Mapping[str, Any]) -> float:
    """The static rules lenders score car collateral with today (0-100, higher is safer): an accident costs 20 and a
    second one 15 more, more than three repairs cost 10, a loan-to-value above 80% costs 25, more than six violation
    points cost 10. Counts beyond those caps tell the rules nothing."""
    accidents = sum(_number(inputs, f"accidents_{s}") for s in ("minor", "moderate", "severe", "unrated"))
    repairs = _number(inputs, "repairs_minor") + _number(inputs, "repairs_major")
    value = _number(inputs, "estimated_value_cny")
    ltv = _number(inputs, "outstanding_cny") / value if value else 0.0
    score = 100.0
    score -= 20 if accidents >= 1 else 0
    score -= 15 if accidents >= 2 else 0
    score -= 10 if repairs > 3 else 0
    score -= 25 if ltv > 0.8 else 0
    score -= 10 if _number(inputs, "violation_points") > 6 else 0
    return score


# ------------------------------------------------------------------------------------------------------------ fitting


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the systems here are 13 x 13 at most)."""
    n = len(vector)
    a = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise RiskModelError("the calibration's normal equations are singular (a feature never varies?)")
        a[col], a[pivot] = a[pivot], a[col]
        for row in range(col + 1, n):
            factor = a[row][col] / a[col][col]
            for k in range(col, n + 1):
                a[row][k] -= factor * a[col][k]
    solution = [0.0] * n
    for row in range(n - 1, -1, -1):
        solution[row] = (a[row][n] - sum(a[row][k] * solution[k] for k in range(row + 1, n))) / a[row][row]
    return solution


def _loss(rows: list[list[float]], y: list[bool], theta: list[float], l2: float) -> float:
    total = 0.0
    for x, label in zip(rows, y, strict=True):
        z = theta[0] + sum(b * v for b, v in zip(theta[1:], x, strict=True))
        # log(1 + e^z) - label * z, computed stably
        total += (z if z > 0 else 0.0) + math.log1p(math.exp(-abs(z))) - (z if label else 0.0)
    return total / len(rows) + l2 / 2 * sum(b * b for b in theta[1:])


def fit_logistic(
    rows: list[list[float]], y: list[bool], *, l2: float = L2, iterations: int = 60
) -> tuple[float, list[float]]:
    """Logistic regression with non-negative coefficients (the intercept is free): projected Newton with an active
    set and a backtracking line search. Returns the intercept and the coefficients."""
    n, m = len(rows), len(rows[0])
    rate = min(max(sum(y) / n, 1e-6), 1 - 1e-6)
    theta = [math.log(rate / (1 - rate))] + [0.0] * m
    free = set(range(m))
    loss = _loss(rows, y, theta, l2)
    for _ in range(iterations):
        grad = [0.0] * (m + 1)
        hess = [[0.0] * (m + 1) for _ in range(m + 1)]
        for x, label in zip(rows, y, strict=True):
            z = theta[0] + sum(b * v for b, v in zip(theta[1:], x, strict=True))
            p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
            w = p * (1 - p)
            xx = [1.0, *x]
            r = p - (1.0 if label else 0.0)
            for i in range(m + 1):
                grad[i] += r * xx[i]
                wi = w * xx[i]
                row = hess[i]
                for j in range(i, m + 1):
                    row[j] += wi * xx[j]
        for i in range(m + 1):
            grad[i] /= n
            for j in range(i, m + 1):
                hess[i][j] /= n
                hess[j][i] = hess[i][j]
        for i in range(1, m + 1):
            grad[i] += l2 * theta[i]
            hess[i][i] += l2
        # a coefficient held at zero comes back once the gradient pulls it upwards
        free |= {j for j in range(m) if j not in free and grad[j + 1] < -1e-9}
        active = [0] + [j + 1 for j in sorted(free)]
        step = _solve([[hess[i][j] for j in active] for i in active], [grad[i] for i in active])
        size, moved = 1.0, False
        while size > 1e-6:
            trial = list(theta)
            for index, delta in zip(active, step, strict=True):
                trial[index] -= size * delta
            for j in range(1, m + 1):
                trial[j] = max(trial[j], 0.0)
            trial_loss = _loss(rows, y, trial, l2)
            if trial_loss <= loss:
                moved = max(abs(a - b) for a, b in zip(trial, theta, strict=True)) > 1e-10
                theta, loss = trial, trial_loss
                break
            size /= 2
        free = {j for j in free if theta[j + 1] > 0.0}
        if not moved:
            break
    return theta[0], theta[1:]


def _levels(samples: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The feature levels of every sample (None where not computable) and each feature's mean over the samples."""
    levels = [feature_levels(s)[0] for s in samples]
    means: dict[str, float] = {}
    for name in FEATURE_NAMES:
        known = [lv[name] for lv in levels if name in lv]
        means[name] = round(sum(known) / len(known), 6) if known else 0.5
    return levels, means


def points_from(coefficients: Sequence[float]) -> dict[str, int]:
    """Hundredths of a point per feature, proportional to the coefficients, adding up to exactly 10,000."""
    total = sum(coefficients)
    if total <= 0:
        raise RiskModelError("calibration found no feature that predicts the outcome: no weights to give")
    points = {name: math.floor(SCALE * c / total + 0.5) for name, c in zip(FEATURE_NAMES, coefficients, strict=True)}
    largest = max(FEATURE_NAMES, key=lambda name: (points[name], name))
    points[largest] += SCALE - sum(points.values())
    return points


def calibrate(
    samples: Sequence[Mapping[str, Any]],
    bad: Sequence[bool],
    *,
    version: str,
    data: str,
    seed: int,
    held_out_share: float = HELD_OUT_SHARE,
) -> ModelParameters:
    """Fit the model on a share of ``samples`` and report AUC and KS on the rest (split by ``seed``)."""
    if len(samples) != len(bad):
        raise ValueError("one outcome per sample is needed")
    if not 0.05 <= held_out_share <= 0.9:
        raise ValueError(f"held_out_share must lie between 0.05 and 0.9, not {held_out_share}")
    order = list(range(len(samples)))
    random.Random(seed).shuffle(order)  # noqa: S311 (a reproducible split, not a secret)
    cut = len(order) - max(1, round(len(order) * held_out_share))
    train, test = order[:cut], order[cut:]
    levels, means = _levels([samples[i] for i in train])
    rows = [[lv.get(name, means[name]) for name in FEATURE_NAMES] for lv in levels]
    intercept, coefficients = fit_logistic(rows, [bad[i] for i in train])
    provisional = dict(
        family=FAMILY,
        version=version,
        points=points_from(coefficients),
        imputation=means,
        intercept=round(intercept, 8),
        coefficients={n: round(c, 8) for n, c in zip(FEATURE_NAMES, coefficients, strict=True)},
    )
    blank = Calibration(data=data, seed=seed, loans=len(samples), train=len(train), held_out=len(test),
                        bad_rate=0, auc=0, ks=0, baseline_auc=0, baseline_ks=0)  # fmt: skip
    model = ModelParameters.model_validate({**provisional, "calibration": blank})
    test_bad = [bad[i] for i in test]
    risk = [-float(compute_score(samples[i], model).score) for i in test]
    baseline = [-static_rules_score(samples[i]) for i in test]
    figures = Calibration(
        data=data,
        seed=seed,
        loans=len(samples),
        train=len(train),
        held_out=len(test),
        bad_rate=round(sum(bad) / len(bad), 4),
        auc=round(auc(risk, test_bad), 4),
        ks=round(ks(risk, test_bad), 4),
        baseline_auc=round(auc(baseline, test_bad), 4),
        baseline_ks=round(ks(baseline, test_bad), 4),
    )
    return ModelParameters.model_validate({**provisional, "calibration": figures})


def calibrate_simulated(seed: int = 7, loans: int = 4000) -> ModelParameters:
    """Calibrate on the simulated portfolio of ``seed`` (version ``r1.s<seed>.n<loans>``)."""
    portfolio = simulate_portfolio(seed, loans)
    return calibrate(
        [loan.inputs for loan in portfolio],
        [loan.bad for loan in portfolio],
        version=f"r1.s{seed}.n{loans}",
        data=f"simulated portfolio (oracle.risk.portfolio, seed {seed}, {loans} loans): not real loans",
        seed=seed,
    )
