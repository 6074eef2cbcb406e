"""A deterministic fleet of vehicles and car loans, generated from a seed.

Everything comes from one ``random.Random(seed)`` (never the global generator), so the same seed and size give the same
fleet on every machine and Python run. VINs are 17 characters with a correct ISO 3779 check digit in position 9, a
Chinese world-manufacturer identifier matching the make, and the model-year code in position 10.

Money is in whole yuan (CNY). Dates are UTC. The car models and the regions (a few Chinese cities with a
latitude/longitude box that serves as the geofence of the vehicles registered there) are the oracle's reference data,
``oracle.reference``: the fleet is generated from the same definitions the oracle values and geofences by.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from node_adapter.encoding import validate_vin, vin_check_digit
from oracle.reference import CAR_MODELS, REGIONS

SIMULATION_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""The simulated clock starts here unless told otherwise."""

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_MODEL_YEAR_CODES = {year: code for year, code in zip(range(2010, 2031), "ABCDEFGHJKLMNPRSTVWXY", strict=True)}


BANKS: tuple[str, ...] = ("ICBC", "CCB", "ABC", "BOC", "CMB", "PAB")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A registered vehicle as generated at the start of the simulation."""

    vin: str
    make: str
    model: str
    year: int
    region: str
    plate: str
    owner_id: str
    owner_name: str
    purchase_price_cny: int
    purchased_on: date
    odometer_km: float
    home_lat: float
    home_lon: float


@dataclass(frozen=True, slots=True)
class Loan:
    """A car loan secured on one vehicle, as it stands at the start of the simulation."""

    loan_ref: str
    vin: str
    bank: str
    principal_cny: int
    outstanding_cny: int
    monthly_payment_cny: int
    annual_rate: float
    term_months: int
    due_day: int
    opened_on: date


@dataclass(frozen=True, slots=True)
class Fleet:
    """Vehicles in generation order and the loans on a share of them."""

    seed: int
    vehicles: tuple[Vehicle, ...]
    loans: tuple[Loan, ...]

    def vehicle(self, vin: str) -> Vehicle | None:
        return next((vehicle for vehicle in self.vehicles if vehicle.vin == vin), None)


def model_year_code(year: int) -> str:
    """The VIN position-10 code of a model year (2010-2030)."""
    return _MODEL_YEAR_CODES[year]


def make_vin(rng: random.Random, *, wmi: str, year: int, serial: int) -> str:
    """A VIN with a correct check digit: WMI, five random VDS characters, check digit, year code, plant, serial."""
    if not 0 <= serial < 1_000_000:
        raise ValueError(f"a VIN serial has six digits, not {serial}")
    vds = "".join(rng.choice(_VIN_CHARS) for _ in range(5))
    plant = rng.choice(_VIN_CHARS)
    draft = f"{wmi}{vds}0{model_year_code(year)}{plant}{serial:06d}"
    vin = draft[:8] + vin_check_digit(draft) + draft[9:]
    return validate_vin(vin, check_digit=True)


def depreciated_value(new_price_cny: float, *, year: int, on: date, odometer_km: float) -> float:
    """A simple residual value: about 12% a year of age and 0.5% per 10,000 km, never below 15% of new."""
    age = max(0.0, on.year - year + (on.timetuple().tm_yday / 366))
    factor = math.pow(0.88, age) * (1 - 0.005 * odometer_km / 10_000)
    return new_price_cny * max(0.15, factor)


def monthly_payment(principal: float, *, annual_rate: float, term_months: int) -> float:
    """The annuity payment of a loan."""
    monthly_rate = annual_rate / 12
    return principal * monthly_rate / (1 - math.pow(1 + monthly_rate, -term_months))


def balance_after(principal: float, *, annual_rate: float, term_months: int, payments: int) -> float:
    """The outstanding balance after ``payments`` annuity payments."""
    monthly_rate = annual_rate / 12
    payment = monthly_payment(principal, annual_rate=annual_rate, term_months=term_months)
    grown = math.pow(1 + monthly_rate, payments)
    return max(0.0, principal * grown - payment * (grown - 1) / monthly_rate)


def generate_fleet(seed: int, size: int, *, loan_share: float = 0.6, start: datetime = SIMULATION_EPOCH) -> Fleet:
    """``size`` vehicles (unique VINs) and loans on about ``loan_share`` of them, all determined by ``seed``."""
    if size < 1:
        raise ValueError(f"a fleet has at least one vehicle, not {size}")
    if not 0.0 <= loan_share <= 1.0:
        raise ValueError(f"the loan share is between 0 and 1, not {loan_share}")
    rng = random.Random(seed)  # noqa: S311 (simulated data, not secrets)
    today = start.date()
    vehicles: list[Vehicle] = []
    loans: list[Loan] = []
    serials: set[int] = set()
    plates: set[str] = set()
    for index in range(size):
        car = rng.choice(CAR_MODELS)
        region = rng.choice(REGIONS)
        year = rng.randint(2016, today.year - 1)
        serial = rng.randrange(1_000_000)
        while serial in serials:
            serial = rng.randrange(1_000_000)
        serials.add(serial)
        vin = make_vin(rng, wmi=car.wmi, year=year, serial=serial)
        plate = region.plate_prefix + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
        while plate in plates:
            plate = region.plate_prefix + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
        plates.add(plate)
        purchased_on = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        age_years = max(0.25, (today - purchased_on).days / 365.25)
        odometer = round(age_years * rng.uniform(8_000, 20_000), 1)
        price = round(car.new_price_cny * rng.uniform(0.9, 1.05), -2)
        vehicles.append(
            Vehicle(
                vin=vin,
                make=car.make,
                model=car.model,
                year=year,
                region=region.code,
                plate=plate,
                owner_id=f"OWN-{seed % 1000:03d}-{index:06d}",
                owner_name=rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2))),
                purchase_price_cny=int(price),
                purchased_on=purchased_on,
                odometer_km=odometer,
                home_lat=round(rng.uniform(region.lat_min, region.lat_max), 6),
                home_lon=round(rng.uniform(region.lon_min, region.lon_max), 6),
            )
        )
        if rng.random() < loan_share:
            loans.append(_make_loan(rng, vehicles[-1], number=len(loans) + 1, today=today))
    return Fleet(seed=seed, vehicles=tuple(vehicles), loans=tuple(loans))


def _make_loan(rng: random.Random, vehicle: Vehicle, *, number: int, today: date) -> Loan:
    """A 24-60 month loan opened in the last 20 months at 50-80% of the vehicle's value then."""
    term = rng.choice((24, 36, 48, 60))
    months_ago = rng.randint(0, 20)
    opened_on = _add_months(today, -months_ago) - timedelta(days=rng.randint(1, 27))
    opened_on = max(opened_on, vehicle.purchased_on)
    value = depreciated_value(
        vehicle.purchase_price_cny, year=vehicle.year, on=opened_on, odometer_km=vehicle.odometer_km
    )
    principal = round(value * rng.uniform(0.5, 0.8), -2)
    rate = round(rng.uniform(0.035, 0.075), 4)
    payments = min(term - 1, (today.year - opened_on.year) * 12 + today.month - opened_on.month)
    bank = rng.choice(BANKS)
    return Loan(
        loan_ref=f"LN-{bank}-{number:06d}",
        vin=vehicle.vin,
        bank=bank,
        principal_cny=int(principal),
        outstanding_cny=round(balance_after(principal, annual_rate=rate, term_months=term, payments=max(0, payments))),
        monthly_payment_cny=round(monthly_payment(principal, annual_rate=rate, term_months=term)),
        annual_rate=rate,
        term_months=term,
        due_day=rng.randint(1, 28),
        opened_on=opened_on,
    )


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, min(day.day, 28))
