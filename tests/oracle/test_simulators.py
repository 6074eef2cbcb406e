"""The source simulators over real HTTP: determinism, paging, every scenario in the right feed, faults, 422s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from node_adapter.dev.localchain import free_port
from node_adapter.encoding import validate_vin
from node_adapter.exceptions import EncodingError
from oracle.reference import REGIONS_BY_CODE
from oracle.simulators import SimulatorServer, generate_fleet

Json = Any


def call(method: str, url: str, body: Json = None) -> tuple[int, Json]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get(url: str) -> Json:
    status, body = call("GET", url)
    assert status == 200, body
    return body


def post(url: str, body: Json) -> Json:
    status, reply = call("POST", url, body)
    assert status == 200, reply
    return reply


def read_feed(base: str, source: str, after: str = "", limit: int = 1000) -> tuple[list[dict[str, Any]], str]:
    """Every event after ``after``, page by page; and the cursor to continue from."""
    events: list[dict[str, Any]] = []
    cursor = after
    while True:
        page = get(f"{base}/{source}/v1/events?after={cursor}&limit={limit}")
        events += page["events"]
        cursor = page["next"]
        if not page["has_more"]:
            return events, cursor


def tail(base: str, source: str) -> str:
    return read_feed(base, source)[1]


def scenario(base: str, source: str, **body: Json) -> Json:
    return post(f"{base}/{source}/admin/scenarios", body)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed=7, fleet_size=20) as running:
        yield running


@pytest.fixture(scope="module")
def fleet(server: SimulatorServer) -> Json:
    return get(f"{server.url}/admin/fleet")


@pytest.fixture
def base(server: SimulatorServer) -> str:
    return server.url


def financed(fleet: Json) -> list[Json]:
    return [vehicle for vehicle in fleet["vehicles"] if vehicle["loan_ref"]]


def unfinanced(fleet: Json) -> list[Json]:
    return [vehicle for vehicle in fleet["vehicles"] if not vehicle["loan_ref"]]


# ------------------------------------------------------------------------------------------------ fleet, determinism


def test_health_answers_on_every_source(base: str) -> None:
    assert get(f"{base}/health")["status"] == "ok"
    for source in ("dmv", "telematics", "market", "loans"):
        health = get(f"{base}/{source}/health")
        assert health["source"] == source
        assert health["now"] == get(f"{base}/admin/clock")["now"]


def test_fleet_has_valid_unique_vins_and_loans_on_a_share(fleet: Json) -> None:
    vins = [vehicle["vin"] for vehicle in fleet["vehicles"]]
    assert len(vins) == 20
    assert len(set(vins)) == 20
    for vin in vins:
        assert validate_vin(vin, check_digit=True) == vin
    assert len({vehicle["plate"] for vehicle in fleet["vehicles"]}) == 20
    assert all(vehicle["region"] in REGIONS_BY_CODE for vehicle in fleet["vehicles"])
    assert 0 < len(financed(fleet)) < 20


def test_generate_fleet_is_a_function_of_the_seed() -> None:
    assert generate_fleet(3, 50) == generate_fleet(3, 50)
    assert generate_fleet(3, 50).vehicles != generate_fleet(4, 50).vehicles
    loans = generate_fleet(3, 200).loans
    assert 0.45 < len(loans) / 200 < 0.75
    for loan in loans:
        assert 0 < loan.outstanding_cny <= loan.principal_cny
        assert 1 <= loan.due_day <= 28


def test_same_seed_gives_the_same_data_over_http() -> None:
    snapshots = []
    for _ in range(2):
        with SimulatorServer(seed=11, fleet_size=8) as running:
            url = running.url
            vin = get(f"{url}/admin/fleet")["vehicles"][0]["vin"]
            post(f"{url}/admin/advance", {"seconds": 86_400 + 600})
            scenario(url, "telematics", scenario="crash", vin=vin, severity="moderate")
            scenario(url, "market", scenario="price_shock", region="BJ", percent=5)
            snapshots.append(
                {
                    "fleet": get(f"{url}/admin/fleet"),
                    "feeds": {s: read_feed(url, s)[0] for s in ("dmv", "telematics", "market", "loans")},
                    "index": get(f"{url}/market/v1/index"),
                    "loans": get(f"{url}/loans/v1/loans"),
                }
            )
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0]["feeds"]["telematics"]) > 8 * 288


# ------------------------------------------------------------------------------------------------ feeds and cursors


def test_cursor_paging_reads_every_event_exactly_once_in_order(base: str) -> None:
    post(f"{base}/admin/advance", {"seconds": 1800})
    whole, end = read_feed(base, "telematics", limit=1000)
    paged, paged_end = read_feed(base, "telematics", limit=37)
    assert paged == whole
    assert paged_end == end
    assert [event["seq"] for event in whole] == list(range(1, len(whole) + 1))
    times = [parse_time(event["occurred_at"]) for event in whole]
    assert times == sorted(times)
    # reading at the end gives nothing and keeps the cursor; new events come after it
    assert get(f"{base}/telematics/v1/events?after={end}") == {"events": [], "next": end, "has_more": False}
    post(f"{base}/admin/advance", {"seconds": 300})
    fresh, _ = read_feed(base, "telematics", after=end)
    assert fresh
    assert fresh[0]["seq"] == int(end) + 1
    assert {event["occurred_at"] for event in fresh} == {get(f"{base}/admin/clock")["now"]}


def test_bad_cursors_are_refused(base: str) -> None:
    status, body = call("GET", f"{base}/dmv/v1/events?after=abc")
    assert status == 422
    assert "cursor" in body["detail"]
    status, body = call("GET", f"{base}/dmv/v1/events?after=99999999")
    assert status == 422
    assert "beyond the end" in body["detail"]
    assert call("GET", f"{base}/dmv/v1/events?limit=0")[0] == 422


def test_each_feed_starts_with_history(base: str, fleet: Json) -> None:
    dmv, _ = read_feed(base, "dmv")
    registrations = {event["vin"] for event in dmv if event["type"] == "registration"}
    assert registrations == {vehicle["vin"] for vehicle in fleet["vehicles"]}
    liens = {event["payload"]["loan_ref"] for event in dmv if event["type"] == "lien_registered"}
    assert liens == {vehicle["loan_ref"] for vehicle in financed(fleet)}
    loans, _ = read_feed(base, "loans")
    assert {e["payload"]["loan_ref"] for e in loans if e["type"] == "loan_opened"} == liens
    market, _ = read_feed(base, "market")
    assert {e["payload"]["region"] for e in market if e["type"] == "index_update"} == set(REGIONS_BY_CODE)
    for event in market + dmv + loans:
        assert set(event) == {"seq", "id", "vin", "type", "occurred_at", "payload"}


# ------------------------------------------------------------------------------------------------ market


def test_price_shock_moves_the_region_index_by_the_percentage(base: str) -> None:
    cursor = tail(base, "market")
    [before] = get(f"{base}/market/v1/index?region=SH")
    result = scenario(base, "market", scenario="price_shock", region="SH", percent=-9)
    [after] = get(f"{base}/market/v1/index?region=SH")
    assert after["index"] == pytest.approx(before["index"] * 0.91, rel=1e-6)
    events, _ = read_feed(base, "market", after=cursor)
    [shock] = events
    assert shock["id"] == result["event_ids"][0]
    assert shock["type"] == "index_update"
    assert shock["vin"] is None
    assert shock["payload"]["region"] == "SH"
    assert shock["payload"]["change_pct"] == pytest.approx(-9)
    assert shock["payload"]["cause"] == "shock"
    others = {quote["region"]: quote["index"] for quote in get(f"{base}/market/v1/index")}
    assert others["SH"] == after["index"]


def test_comparables_match_the_query(base: str, fleet: Json) -> None:
    vehicle = fleet["vehicles"][0]
    sales = get(f"{base}/market/v1/comparables?make={vehicle['make']}&model={vehicle['model']}&year={vehicle['year']}")
    assert len(sales) >= 3
    for sale in sales:
        assert (sale["make"], sale["model"], sale["year"]) == (vehicle["make"], vehicle["model"], vehicle["year"])
        assert sale["price_cny"] > 0
        validate_vin(sale["vin"], check_digit=True)
    assert call("GET", f"{base}/market/v1/index?region=XX")[0] == 404


# ------------------------------------------------------------------------------------------------ telematics


def vehicle_events(events: list[Json], vin: str, kind: str) -> list[Json]:
    return [event for event in events if event["vin"] == vin and event["type"] == kind]


def test_geofence_exit_reports_positions_outside_the_region(base: str, fleet: Json) -> None:
    vehicle = fleet["vehicles"][1]
    box = fleet["regions"][vehicle["region"]]
    cursor = tail(base, "telematics")
    scenario(base, "telematics", scenario="geofence_exit", vin=vehicle["vin"])
    post(f"{base}/admin/advance", {"seconds": 1500})
    positions = vehicle_events(read_feed(base, "telematics", after=cursor)[0], vehicle["vin"], "position")
    assert len(positions) == 6
    for position in positions:
        assert not (
            box["lat_min"] <= position["payload"]["lat"] <= box["lat_max"]
            and box["lon_min"] <= position["payload"]["lon"] <= box["lon_max"]
        )


def test_other_vehicles_stay_inside_their_region(base: str, fleet: Json) -> None:
    events, _ = read_feed(base, "telematics")
    for vehicle in fleet["vehicles"][2:]:
        box = fleet["regions"][vehicle["region"]]
        for position in vehicle_events(events, vehicle["vin"], "position"):
            assert box["lat_min"] <= position["payload"]["lat"] <= box["lat_max"]
            assert box["lon_min"] <= position["payload"]["lon"] <= box["lon_max"]


def test_odometer_rollback_reports_a_lower_reading(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][2]["vin"]
    readings = vehicle_events(read_feed(base, "telematics")[0], vin, "odometer")
    last = readings[-1]["payload"]["odometer_km"]
    cursor = tail(base, "telematics")
    scenario(base, "telematics", scenario="odometer_rollback", vin=vin, km=5000)
    [rolled] = read_feed(base, "telematics", after=cursor)[0]
    assert rolled["type"] == "odometer"
    assert rolled["vin"] == vin
    assert rolled["payload"]["odometer_km"] == pytest.approx(last - 5000)
    status, body = call(
        "POST", f"{base}/telematics/admin/scenarios", {"scenario": "odometer_rollback", "vin": vin, "km": 9e9}
    )
    assert status == 422
    assert "odometer reads" in body["detail"]


def test_gps_loss_silences_positions_but_not_the_odometer(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][3]["vin"]
    cursor = tail(base, "telematics")
    lost_at = parse_time(get(f"{base}/admin/clock")["now"])
    assert scenario(base, "telematics", scenario="gps_loss", vin=vin, seconds=1200)["event_ids"] == []
    post(f"{base}/admin/advance", {"seconds": 3000})
    events = read_feed(base, "telematics", after=cursor)[0]
    positions = [
        (parse_time(e["occurred_at"]) - lost_at).total_seconds() for e in vehicle_events(events, vin, "position")
    ]
    odometers = vehicle_events(events, vin, "odometer")
    assert positions
    assert min(positions) >= 1200
    assert len(odometers) == 10
    other = fleet["vehicles"][4]["vin"]
    assert len(vehicle_events(events, other, "position")) == 10


def test_crash_is_reported_and_the_vehicle_stops(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][5]["vin"]
    cursor = tail(base, "telematics")
    scenario(base, "telematics", scenario="crash", vin=vin, severity="severe")
    post(f"{base}/admin/advance", {"seconds": 900})
    events = read_feed(base, "telematics", after=cursor)[0]
    assert events[0]["type"] == "crash"
    assert events[0]["vin"] == vin
    assert events[0]["payload"]["severity"] == "severe"
    assert events[0]["payload"]["airbag_deployed"] is True
    assert 40 <= events[0]["payload"]["delta_v_kmh"] <= 75
    positions = vehicle_events(events, vin, "position")
    assert {(p["payload"]["lat"], p["payload"]["lon"], p["payload"]["speed_kmh"]) for p in positions} == {
        (events[0]["payload"]["lat"], events[0]["payload"]["lon"], 0.0)
    }


def test_tamper_event(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][6]["vin"]
    cursor = tail(base, "telematics")
    scenario(base, "telematics", scenario="tamper", vin=vin, kind="tbox_removed")
    [event] = read_feed(base, "telematics", after=cursor)[0]
    assert (event["type"], event["vin"], event["payload"]["kind"]) == ("tamper", vin, "tbox_removed")


# ------------------------------------------------------------------------------------------------ loans


def test_missed_payment_sets_days_overdue_and_counts_on(base: str, fleet: Json) -> None:
    loan_ref = financed(fleet)[0]["loan_ref"]
    assert get(f"{base}/loans/v1/loans/{loan_ref}")["status"] == "current"
    cursor = tail(base, "loans")
    scenario(base, "loans", scenario="missed_payment", loan=loan_ref, days_overdue=31)
    loan = get(f"{base}/loans/v1/loans/{loan_ref}")
    assert (loan["days_overdue"], loan["status"], loan["next_due_on"]) == (31, "overdue", None)
    [missed] = read_feed(base, "loans", after=cursor)[0]
    assert missed["type"] == "payment_missed"
    assert missed["payload"]["loan_ref"] == loan_ref
    assert missed["payload"]["days_overdue"] == 31
    assert missed["payload"]["amount_due_cny"] == 2 * loan["monthly_payment_cny"]
    post(f"{base}/admin/advance", {"seconds": 86_400})
    assert get(f"{base}/loans/v1/loans/{loan_ref}")["days_overdue"] == 32
    updates = [e for e in read_feed(base, "loans", after=cursor)[0] if e["type"] == "overdue_update"]
    assert [u["payload"]["days_overdue"] for u in updates] == [32]
    assert call("GET", f"{base}/loans/v1/loans/LN-NOPE")[0] == 404


def test_cure_clears_the_arrears(base: str, fleet: Json) -> None:
    loan_ref = financed(fleet)[1]["loan_ref"]
    assert call("POST", f"{base}/loans/admin/scenarios", {"scenario": "cure", "loan": loan_ref})[0] == 422
    scenario(base, "loans", scenario="missed_payment", loan=loan_ref, days_overdue=95)
    assert get(f"{base}/loans/v1/loans/{loan_ref}")["status"] == "default"
    cursor = tail(base, "loans")
    scenario(base, "loans", scenario="cure", loan=loan_ref)
    loan = get(f"{base}/loans/v1/loans/{loan_ref}")
    assert (loan["days_overdue"], loan["status"]) == (0, "current")
    [cleared] = read_feed(base, "loans", after=cursor)[0]
    assert (cleared["type"], cleared["payload"]["days_overdue"]) == ("arrears_cleared", 0)
    post(f"{base}/admin/advance", {"seconds": 86_400})
    assert get(f"{base}/loans/v1/loans/{loan_ref}")["days_overdue"] == 0


# ------------------------------------------------------------------------------------------------ DMV


def test_seizure_changes_the_registration(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][7]["vin"]
    cursor = tail(base, "dmv")
    scenario(base, "dmv", scenario="dmv_seizure", vin=vin)
    [seizure] = read_feed(base, "dmv", after=cursor)[0]
    assert (seizure["type"], seizure["vin"]) == ("seizure", vin)
    assert get(f"{base}/dmv/v1/vehicles/{vin}")["status"] == "seized"
    status, body = call("POST", f"{base}/dmv/admin/scenarios", {"scenario": "dmv_seizure", "vin": vin})
    assert status == 422
    assert "already seized" in body["detail"]


def test_transfer_is_blocked_by_a_lien_until_it_is_released(base: str, fleet: Json) -> None:
    vehicle = next(v for v in financed(fleet) if v["vin"] != fleet["vehicles"][7]["vin"])
    vin = vehicle["vin"]
    cursor = tail(base, "dmv")
    scenario(base, "dmv", scenario="transfer_attempt", vin=vin, to_owner="张三")
    scenario(base, "dmv", scenario="lien_release", vin=vin)
    scenario(base, "dmv", scenario="transfer_attempt", vin=vin, to_owner="张三")
    blocked, released, completed = read_feed(base, "dmv", after=cursor)[0]
    assert (blocked["type"], blocked["payload"]["outcome"]) == ("transfer_attempt", "blocked")
    assert "lien" in blocked["payload"]["reason"]
    assert (released["type"], released["payload"]["loan_ref"]) == ("lien_released", vehicle["loan_ref"])
    assert (completed["payload"]["outcome"], completed["payload"]["to_owner"]) == ("completed", "张三")
    record = get(f"{base}/dmv/v1/vehicles/{vin}")
    assert record["owner_name"] == "张三"
    assert record["liens"][0]["released_on"] is not None
    status, body = call("POST", f"{base}/dmv/admin/scenarios", {"scenario": "lien_release", "vin": vin})
    assert status == 422
    assert "no active lien" in body["detail"]


# ------------------------------------------------------------------------------------------------ faults


def test_fail_answers_503_for_the_stated_number_of_requests(base: str) -> None:
    scenario(base, "loans", scenario="fail", requests=3)
    statuses = [call("GET", f"{base}/loans/v1/loans")[0] for _ in range(4)]
    assert statuses == [503, 503, 503, 200]
    assert call("GET", f"{base}/dmv/v1/events?limit=1")[0] == 200


def test_fail_leaves_health_and_admin_up(base: str) -> None:
    scenario(base, "dmv", scenario="fail", requests=1)
    assert call("GET", f"{base}/dmv/health")[0] == 200
    assert call("GET", f"{base}/dmv/admin/clock")[0] == 200
    assert call("GET", f"{base}/dmv/v1/events?limit=1")[0] == 503
    assert call("GET", f"{base}/dmv/v1/events?limit=1")[0] == 200


def test_slow_delays_the_stated_number_of_requests(base: str) -> None:
    scenario(base, "market", scenario="slow", delay_ms=150, requests=2)
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        get(f"{base}/market/v1/index")
        durations.append(time.perf_counter() - started)
    assert durations[0] >= 0.15
    assert durations[1] >= 0.15
    assert durations[2] < 0.15


@pytest.mark.parametrize(
    "kind", ["missing_vin", "bad_vin", "bad_timestamp", "wrong_type", "missing_payload", "out_of_range"]
)
def test_malformed_events_are_malformed_as_stated(base: str, kind: str) -> None:
    cursor = tail(base, "telematics")
    scenario(base, "telematics", scenario="malformed", kind=kind, count=2)
    post(f"{base}/admin/advance", {"seconds": 300})
    events = read_feed(base, "telematics", after=cursor)[0]
    bad, good = events[:2], events[2:]
    assert good
    for event in good:
        validate_vin(event["vin"], check_digit=True)
        parse_time(event["occurred_at"])
        assert isinstance(event["payload"], dict)
    for event in bad:
        if kind == "missing_vin":
            assert "vin" not in event
        elif kind == "bad_vin":
            with pytest.raises(EncodingError, match="check digit"):
                validate_vin(event["vin"], check_digit=True)
        elif kind == "bad_timestamp":
            with pytest.raises(ValueError):
                parse_time(event["occurred_at"])
        elif kind == "wrong_type":
            assert event["payload"]
            assert all(isinstance(value, str) for value in event["payload"].values())
        elif kind == "out_of_range":
            numbers = [v for v in event["payload"].values() if isinstance(v, int | float) and not isinstance(v, bool)]
            assert numbers
            assert set(numbers) == {-1_000_000_000}
        else:
            assert "payload" not in event


def test_duplicate_re_emits_an_event_under_a_new_seq(base: str) -> None:
    events, cursor = read_feed(base, "dmv")
    original = events[2]
    scenario(base, "dmv", scenario="duplicate", event_id=original["id"])
    [copy] = read_feed(base, "dmv", after=cursor)[0]
    assert copy["seq"] == int(cursor) + 1
    assert {**copy, "seq": original["seq"]} == original
    status, body = call("POST", f"{base}/dmv/admin/scenarios", {"scenario": "duplicate", "event_id": "dmv-nope"})
    assert status == 422
    assert "dmv-nope" in body["detail"]


def test_out_of_order_emits_an_older_event(base: str, fleet: Json) -> None:
    vin = fleet["vehicles"][8]["vin"]
    post(f"{base}/admin/advance", {"seconds": 300})
    events, cursor = read_feed(base, "telematics")
    latest = parse_time(events[-1]["occurred_at"])
    scenario(base, "telematics", scenario="out_of_order", vin=vin, seconds=3600)
    [late] = read_feed(base, "telematics", after=cursor)[0]
    assert late["vin"] == vin
    assert (latest - parse_time(late["occurred_at"])).total_seconds() == 3600
    assert late["id"] not in {event["id"] for event in events}


# ------------------------------------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        ("dmv", {"scenario": "meteor_strike", "vin": "X"}, "meteor_strike"),
        ("dmv", {"vin": "X"}, "scenario"),
        ("telematics", {"scenario": "crash", "vin": "LSV00000000000000"}, "no vehicle with VIN"),
        ("telematics", {"scenario": "crash", "vin": "{vin}", "severity": "apocalyptic"}, "severity"),
        ("telematics", {"scenario": "crash", "vin": "{vin}", "colour": "red"}, "colour"),
        ("market", {"scenario": "price_shock", "region": "Atlantis", "percent": 5}, "unknown region"),
        ("market", {"scenario": "price_shock", "region": "SH"}, "percent"),
        ("loans", {"scenario": "missed_payment", "loan": "LN-NOPE", "days_overdue": 3}, "no loan"),
        ("dmv", {"scenario": "crash", "vin": "{vin}"}, "telematics scenario"),
        ("dmv", {"scenario": "malformed", "kind": "smelly"}, "kind"),
        ("dmv", {"scenario": "fail", "requests": 0}, "requests"),
    ],
)
def test_bad_scenarios_are_refused_with_422(base: str, fleet: Json, source: str, body: Json, message: str) -> None:
    vin = fleet["vehicles"][0]["vin"]
    body = {key: value.replace("{vin}", vin) if isinstance(value, str) else value for key, value in body.items()}
    status, reply = call("POST", f"{base}/{source}/admin/scenarios", body)
    assert status == 422
    assert message in json.dumps(reply["detail"], ensure_ascii=False)


def test_bad_advance_is_refused(base: str) -> None:
    assert call("POST", f"{base}/admin/advance", {"seconds": 0})[0] == 422
    assert call("POST", f"{base}/admin/advance", {"seconds": 10**9})[0] == 422


def test_consortium_oracle_simulators_serves_every_source() -> None:
    """The oracle's plugin command (registered through the consortium.commands entry point) serves the four sources."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "consortium.cli", "oracle", "simulators", "--port", str(port), "--fleet", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the simulators exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the simulators did not answer /health"
                time.sleep(0.1)
        for source in ("dmv", "telematics", "market", "loans"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{source}/health", timeout=5) as response:
                assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


# ------------------------------------------------------------------------------------------------ clock and state


def test_a_saved_simulation_resumes_where_it_stopped(tmp_path: Path) -> None:
    state = tmp_path / "simulation.pickle"
    with SimulatorServer(seed=3, fleet_size=5, state_file=state) as first:
        first.simulation.advance(3600)
        vin = first.simulation.fleet.vehicles[0].vin
        scenario(first.url, "telematics", scenario="crash", vin=vin)
        expected = (first.simulation.now, {s: list(f.events) for s, f in first.simulation.feeds.items()})
    assert state.exists()
    with SimulatorServer(seed=3, fleet_size=5, state_file=state) as second:
        assert (second.simulation.now, {s: f.events for s, f in second.simulation.feeds.items()}) == expected
        second.simulation.advance(300)  # and it goes on from there
        assert second.simulation.now > expected[0]
    with SimulatorServer(seed=4, fleet_size=5, state_file=state) as other:  # another simulation starts anew
        assert other.simulation.now < expected[0]


def test_the_clock_runs_by_itself_at_the_given_speed() -> None:
    with SimulatorServer(seed=3, fleet_size=3, speed=3600) as server:
        started = server.simulation.now
        before = len(server.simulation.feeds["telematics"].events)
        time.sleep(2.5)
        moved = (server.simulation.now - started).total_seconds()
        assert 3600 <= moved <= 4 * 3600
        assert len(server.simulation.feeds["telematics"].events) > before
    with pytest.raises(Exception, match="speed"):
        SimulatorServer(seed=3, fleet_size=3, speed=0)
