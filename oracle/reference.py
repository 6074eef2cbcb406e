"""Reference data the oracle and its simulators share: the car models with their new prices, and the regions whose
boxes are the geofences of the vehicles registered there.

These are the catalogue and the regions of the simulated market and fleet (a few Chinese cities, ten models); a
deployment with real vehicles loads its provider's catalogue and its own regions here. Production code reads them from
this module (valuations: ``oracle.pipeline.valuation``; geofences: ``oracle.rules``); the simulators generate their
fleet and feeds from the same definitions (``oracle.simulators.fleet``), so both sides agree on every make, model and
region.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    """A city whose box (inclusive bounds, degrees) is the geofence of the vehicles registered there."""

    code: str
    name: str
    plate_prefix: str
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max

    @property
    def centre(self) -> tuple[float, float]:
        return (self.lat_min + self.lat_max) / 2, (self.lon_min + self.lon_max) / 2


REGIONS: tuple[Region, ...] = (
    Region("SH", "Shanghai", "沪A", 30.70, 31.85, 120.90, 121.95),
    Region("BJ", "Beijing", "京A", 39.45, 41.05, 115.45, 117.45),
    Region("GZ", "Guangzhou", "粤A", 22.55, 23.90, 112.95, 113.65),
    Region("SZ", "Shenzhen", "粤B", 22.45, 22.85, 113.75, 114.60),
    Region("CD", "Chengdu", "川A", 30.10, 31.40, 102.95, 104.85),
    Region("HZ", "Hangzhou", "浙A", 29.20, 30.55, 118.35, 120.70),
)
REGIONS_BY_CODE: dict[str, Region] = {region.code: region for region in REGIONS}


@dataclass(frozen=True, slots=True)
class CarModel:
    """A make and model with the world-manufacturer identifier of its Chinese plant and its new price."""

    make: str
    model: str
    wmi: str
    new_price_cny: int


CAR_MODELS: tuple[CarModel, ...] = (
    CarModel("Volkswagen", "Lavida", "LSV", 120_000),
    CarModel("Volkswagen", "Tiguan L", "LSV", 220_000),
    CarModel("Toyota", "Camry", "LVG", 200_000),
    CarModel("Toyota", "Corolla", "LVG", 130_000),
    CarModel("Honda", "Accord", "LHG", 190_000),
    CarModel("BYD", "Han", "LGX", 230_000),
    CarModel("BYD", "Qin Plus", "LGX", 110_000),
    CarModel("Tesla", "Model Y", "LRW", 260_000),
    CarModel("BMW", "3 Series", "LBV", 300_000),
    CarModel("Geely", "Emgrand", "L6T", 80_000),
)
