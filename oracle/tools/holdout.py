"""The residual-value estimator measured on simulated data: ``consortium oracle residual``.

``simulated_sales`` reads the comparable sales of the market simulator's feed as the oracle would (each with the
regional index in force when it was sold); ``held_out_error`` fits :class:`oracle.residual.DepreciationEstimator` on
the earlier sales and reports its error on the later ones. The figures describe simulated data, not a real market.
"""

from __future__ import annotations

from datetime import datetime

from oracle.reference import CAR_MODELS
from oracle.residual import DepreciationEstimator, VehicleFacts, evaluate
from oracle.simulators.simulation import Simulation


def simulated_sales(seed: int, *, days: int = 365) -> list[tuple[VehicleFacts, float]]:
    """Comparable sales as the market simulator's feed reports them over ``days``, each with the regional index in
    force when it was sold (read from the same feed's index updates, in order, as the oracle would)."""
    simulation = Simulation(seed, 10, report_interval=86_400)
    for _ in range(days // 30):
        simulation.advance(30 * 86_400)
    new_prices = {(c.make, c.model): c.new_price_cny for c in CAR_MODELS}
    index: dict[str, float] = {}
    sales: list[tuple[VehicleFacts, float]] = []
    cursor: str | None = None
    while True:
        page = simulation.page("market", cursor, 1000)
        for event in page.events:
            payload = event["payload"]
            if event["type"] == "index_update":
                index[payload["region"]] = float(payload["index"])
            elif event["type"] == "comparable_sale":
                facts = VehicleFacts(
                    new_price_cny=new_prices[(payload["make"], payload["model"])],
                    model_year=int(payload["year"]),
                    on=datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00")).date(),
                    odometer_km=float(payload["odometer_km"]),
                    regional_index=index.get(payload["region"], 100.0),
                )
                sales.append((facts, float(payload["price_cny"])))
        cursor = page.next
        if not page.has_more:
            return sales


def held_out_error(seed: int = 7, *, held_out_share: float = 0.3) -> dict[str, float | int | str]:
    """Fit on the earlier sales, report the error on the later ones (a time split, as a lender would use it)."""
    sales = simulated_sales(seed)
    split = int(len(sales) * (1 - held_out_share))
    estimator = DepreciationEstimator.fit(sales[:split])
    report = evaluate(estimator, sales[split:])
    return {
        "data": "simulated (market simulator)",
        "seed": seed,
        "model_version": estimator.version,
        "train_sales": split,
        "held_out_sales": report.sales,
        "retention_per_year": round(estimator.retention, 4),
        "loss_per_10k_km": round(estimator.loss_per_10k_km, 5),
        "mape_pct": report.mape,
        "median_ape_pct": report.median_ape,
        "p90_ape_pct": report.p90_ape,
    }
