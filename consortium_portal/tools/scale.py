"""``consortium bench scale``: how cost grows with the number of records on chain (1k, 10k, 100k attestations).

On one fresh Anvil node (a free-gas chain, as a Besu free-gas consortium network) the suite is deployed and a bank, a
dealer and an insurer are admitted by vote. Then, size after size (each size adds records to the ones before):

- **load**: records about vehicles (``records_per_vehicle`` each: the dealer's odometer inspections, sent with
  ``attestReading``, alternating with the insurer's claims, sent with ``attest``; every document salted and digested
  as the portal does) are sent as single attestations by :class:`consortium.bench.bulkload.BulkLoader` (node-signed,
  JSON-RPC batches, full blocks mined on demand, every receipt checked);
- **gas per record**: from those receipts; and the same records anchored again as Merkle batches of ``batch_size``
  (the dealer's inspections and the insurer's claims, each in batches of their own kind), whose gas is divided by
  the records they hold; one batch record is checked on chain with its proof;
- **indexer**: the read model rebuilt from the chain (``consortium index --rebuild``): events, seconds, events per
  second;
- **verify**: through the portal's HTTP API, served by uvicorn in this process, signed in as the bank: ``GET
  /api/v1/vehicles/{vin}`` for ``samples`` vehicles spread over all loaded so far, once (cold: the report is built
  from the read model) and again (warm: the portal's per-block report cache), and ``POST /api/v1/documents/verify``
  with the salted documents of ``samples`` records spread over all loaded so far. Every answer is checked: the
  vehicle's every record is there, the document is found and valid.

Time figures also come as ratios to the smallest size (``..._vs_first``): they say how a figure grows on any machine.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from consortium.bench.bulkload import FREE_GAS_ANVIL_ARGS, BulkLoader, LoadResult
from consortium.serving import BackgroundServer
from consortium_portal.app import create_app
from consortium_portal.context import PortalContext
from consortium_portal.settings import PortalSettings
from consortium_portal.tools.bench import CLAIM, INSPECTION, _sign_in, form_bench_consortium
from node_adapter.clients import Suite
from node_adapter.dev.localchain import LocalChain, free_port
from node_adapter.encoding import JsonValue, SaltedDocument, subject_id, vin_check_digit
from node_adapter.exceptions import NodeAdapterError
from node_adapter.merkle import MerkleTree, batch_leaf

DEFAULT_SIZES = (1_000, 10_000, 100_000)
ATTEST_GAS_LIMIT = 300_000
BATCH_GAS_LIMIT = 300_000
LOAD_METHOD = (
    "node-signed eth_sendTransaction in JSON-RPC batches of 400, automine off, full 30M-gas blocks mined on demand "
    "(evm_mine), every receipt checked"
)


class ScaleBenchError(NodeAdapterError, ValueError):
    """The scale benchmark was asked for something it cannot do, or an answer it checked was wrong."""


@dataclass(frozen=True)
class ScaleRecord:
    """One loaded record: the vehicle it is about, its kind and its salted document."""

    index: int
    vin: str
    subject: bytes
    kind: int
    document: SaltedDocument
    reading: int | None


def vin_of(vehicle: int) -> str:
    """A well-formed VIN (with its check digit) for vehicle number ``vehicle`` (up to a million)."""
    stem = f"LSVJETH80N5{vehicle:06d}"
    return stem[:8] + vin_check_digit(stem) + stem[9:]


def make_records(start: int, end: int, *, records_per_vehicle: int, key: bytes) -> list[ScaleRecord]:
    """Records ``start`` .. ``end - 1``: record ``i`` is about vehicle ``i // records_per_vehicle``; even positions
    are odometer inspections (readings rising by 1,000 km), odd ones insurance claims."""
    records = []
    subjects: dict[int, tuple[str, bytes]] = {}
    for index in range(start, end):
        vehicle, position = divmod(index, records_per_vehicle)
        if vehicle not in subjects:
            vin = vin_of(vehicle)
            subjects[vehicle] = (vin, subject_id(vin, key))
        vin, subject = subjects[vehicle]
        if position % 2 == 0:
            reading = 1_000 * (position + 1)
            document: dict[str, JsonValue] = {"vin": vin, "kind": "inspection", "odometer_km": reading, "passed": True}
            records.append(ScaleRecord(index, vin, subject, INSPECTION, SaltedDocument.create(document), reading))
        else:
            document = {"vin": vin, "kind": "claim", "claim": f"C-{index}", "amount": 100 * position}
            records.append(ScaleRecord(index, vin, subject, CLAIM, SaltedDocument.create(document), None))
    return records


def scale_report(
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    records_per_vehicle: int = 10,
    batch_size: int = 1_000,
    samples: int = 100,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure at every size (see the module docstring); the figures ``consortium bench scale --json`` prints."""
    ordered = sorted(set(sizes))
    if not ordered or ordered[0] < 1:
        raise ScaleBenchError(f"sizes are record counts of at least 1, got {list(sizes)}")
    if ordered[-1] > 1_000_000 * records_per_vehicle:
        raise ScaleBenchError(f"at most {1_000_000 * records_per_vehicle:,} records ({records_per_vehicle} a vehicle)")
    if records_per_vehicle < 1 or batch_size < 1 or samples < 1:
        raise ScaleBenchError("records per vehicle, batch size and samples are at least 1")
    tell = say or (lambda _line: None)
    started = time.perf_counter()
    with _system() as system:
        points: list[dict[str, Any]] = []
        records: list[ScaleRecord] = []
        for size in ordered:
            tell(f"{size:,} records: preparing {size - len(records):,} more ...")
            point = system.grow(records, size, records_per_vehicle=records_per_vehicle, batch_size=batch_size,
                                samples=samples, say=tell)  # fmt: skip
            points.append(point)
            tell(
                f"{size:,} records: loaded in {point['load_s']} s, indexed in {point['indexer_s']} s, "
                f"VIN verified in {point['verify_vin_cold_p50_ms']} ms (p50, cold)"
            )
    _add_ratios(points)
    return {
        "sizes": ordered,
        "records_per_vehicle": records_per_vehicle,
        "batch_size": batch_size,
        "samples": samples,
        "load_method": LOAD_METHOD,
        "load_total_s": round(sum(p["load_s"] for p in points), 2),
        "wall_s": round(time.perf_counter() - started, 1),
        "points": points,
    }


@dataclass
class _System:
    """The node, the suite with its members, and the portal serving it, signed in as the bank."""

    node: LocalChain
    context: PortalContext
    suite: Suite
    dealer: LocalAccount
    insurer: LocalAccount
    portal_url: str
    token: str
    loader: BulkLoader

    def grow(
        self,
        records: list[ScaleRecord],
        size: int,
        *,
        records_per_vehicle: int,
        batch_size: int,
        samples: int,
        say: Callable[[str], None],
    ) -> dict[str, Any]:
        """Load records up to ``size`` (appended to ``records``), then measure everything at that size."""
        started = time.perf_counter()
        new = make_records(len(records), size, records_per_vehicle=records_per_vehicle, key=self.context.subject_key)
        transactions = [self._attest_tx(r) for r in new]
        prepared = time.perf_counter() - started
        say(f"{size:,} records: sending {len(new):,} attestations ...")
        loaded = self.loader.send(transactions, progress=_every(10_000, lambda n: say(f"  {n:,} mined")))
        records += new
        point: dict[str, Any] = {
            "records": size,
            "added": len(new),
            "prepare_s": round(prepared, 2),
            "load_s": round(loaded.seconds, 2),
            "load_records_per_s": round(len(new) / loaded.seconds, 1),
            "load_blocks": loaded.blocks,
            "records_per_block": round(len(new) / loaded.blocks, 1),
            "load_check_s": round(loaded.check_seconds, 2),
            **_single_gas(new, loaded),
        }
        say(f"{size:,} records: anchoring them in Merkle batches of {batch_size:,} ...")
        point.update(self._batches(new, batch_size))
        say(f"{size:,} records: rebuilding the read model ...")
        indexer = self.context.indexer()
        began = time.perf_counter()
        events = indexer.rebuild()
        indexed = time.perf_counter() - began
        point.update(indexer_events=events, indexer_s=round(indexed, 2),
                     indexer_events_per_s=round(events / indexed, 1))  # fmt: skip
        say(f"{size:,} records: verifying through the portal ...")
        point.update(self._verify(records, records_per_vehicle=records_per_vehicle, samples=samples))
        point["load_average_1m"] = round(os.getloadavg()[0], 2)  # what else ran: read the time figures with it
        return point

    def _attest_tx(self, record: ScaleRecord) -> dict[str, Any]:
        registry = self.suite.registry
        digest, zero = record.document.digest, b"\0" * 32
        if record.reading is not None:
            data = registry.calldata("attestReading", record.subject, record.kind, digest, zero, 0, record.reading)
            sender = self.dealer.address
        else:
            data = registry.calldata("attest", record.subject, record.kind, digest, zero, 0)
            sender = self.insurer.address
        return {"from": sender, "to": registry.address, "data": data, "gas": ATTEST_GAS_LIMIT}

    def _batches(self, records: list[ScaleRecord], batch_size: int) -> dict[str, Any]:
        """Anchor ``records`` again as Merkle batches: the dealer's inspections, then the insurer's claims."""
        registry = self.suite.registry
        gas, batches, built = 0, 0, 0.0
        proof_check: tuple[int, ScaleRecord, list[bytes]] | None = None
        for kind, sender in ((INSPECTION, self.dealer.address), (CLAIM, self.insurer.address)):
            group = [r for r in records if r.kind == kind]
            chunks = [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
            first_id = registry.batch_count() + 1
            transactions = []
            began = time.perf_counter()
            for offset, chunk in enumerate(chunks):
                batch_id = first_id + offset
                tree = MerkleTree([batch_leaf(batch_id, r.subject, r.document.digest) for r in chunk])
                uri = chunk[0].document.digest  # stands for where the batch's records are kept
                data = registry.calldata("anchorBatch", kind, tree.root, len(chunk), uri)
                transactions.append({"from": sender, "to": registry.address, "data": data, "gas": BATCH_GAS_LIMIT})
                if proof_check is None:  # the first batch is a full one (when there are enough records)
                    middle = len(chunk) // 2
                    leaf = batch_leaf(batch_id, chunk[middle].subject, chunk[middle].document.digest)
                    proof_check = (batch_id, chunk[middle], tree.proof_for(leaf))
            built += time.perf_counter() - began
            if transactions:
                result = self.loader.send(transactions)
                gas += sum(result.gas_used)
                batches += len(transactions)
        assert proof_check is not None
        batch_id, record, proof = proof_check
        if not registry.verify_batch_record(batch_id, record.subject, record.document.digest, proof):
            raise ScaleBenchError(f"record {record.index} does not verify against batch {batch_id} on chain")
        data = registry.calldata("verifyBatchRecord", batch_id, record.subject, record.document.digest, proof)
        proof_gas = self.context.connection.call(
            lambda w3: int(w3.eth.estimate_gas({"to": registry.address, "data": HexBytes(data)}))
        )
        return {
            "batches": batches,
            "batch_gas_per_record": round(gas / len(records), 1),
            "merkle_build_s": round(built, 3),
            "batch_proof_depth": len(proof),
            "batch_proof_check_gas": proof_gas,
        }

    def _verify(self, records: list[ScaleRecord], *, records_per_vehicle: int, samples: int) -> dict[str, Any]:
        vehicles = (len(records) + records_per_vehicle - 1) // records_per_vehicle
        picked_vehicles = _spread(vehicles, samples)
        picked_records = _spread(len(records), samples)
        cold: list[float] = []
        warm: list[float] = []
        documents: list[float] = []
        with httpx.Client(base_url=self.portal_url, headers={"Authorization": f"Bearer {self.token}"},
                          timeout=60) as http:  # fmt: skip
            http.get("/api/v1/me").raise_for_status()  # open the connection and warm the routes: not counted
            http.post("/api/v1/documents/verify", json={"digest": "0x" + "00" * 32}).raise_for_status()
            for rounds in (cold, warm):
                for vehicle in picked_vehicles:
                    expected = min(records_per_vehicle, len(records) - vehicle * records_per_vehicle)
                    vin = vin_of(vehicle)
                    began = time.perf_counter()
                    response = http.get(f"/api/v1/vehicles/{vin}")
                    rounds.append((time.perf_counter() - began) * 1000)
                    _check_vehicle(response, vin, expected)
            for index in picked_records:
                record = records[index]
                began = time.perf_counter()
                response = http.post("/api/v1/documents/verify", json={"document": record.document.salted_document()})
                documents.append((time.perf_counter() - began) * 1000)
                _check_document(response, record)
        return {
            "verify_samples": len(picked_vehicles),
            "verify_vin_cold_p50_ms": _percentile(cold, 50),
            "verify_vin_cold_p95_ms": _percentile(cold, 95),
            "verify_vin_warm_p50_ms": _percentile(warm, 50),
            "verify_document_p50_ms": _percentile(documents, 50),
            "verify_document_p95_ms": _percentile(documents, 95),
        }


@contextmanager
def _system() -> Iterator[_System]:
    with (
        tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp,
        LocalChain(port=free_port(), extra_args=FREE_GAS_ANVIL_ARGS) as node,
    ):
        members = form_bench_consortium(node, Path(tmp))
        port = free_port()
        context = PortalContext.open(PortalSettings(port=port, member_rate=10**9, ip_rate=10**9), members.settings)
        with (
            BackgroundServer(create_app(context), port=port, name="portal") as server,
            BulkLoader(node.url) as loader,
        ):
            token = _sign_in(server.url, members.bank)
            yield _System(node, context, members.suite, members.dealer, members.insurer, server.url, token, loader)


def _single_gas(records: list[ScaleRecord], loaded: LoadResult) -> dict[str, Any]:
    readings = [g for r, g in zip(records, loaded.gas_used, strict=True) if r.reading is not None]
    plain = [g for r, g in zip(records, loaded.gas_used, strict=True) if r.reading is None]
    return {
        "single_gas_per_record": round(statistics.fmean(loaded.gas_used), 1),
        "attest_reading_gas": round(statistics.fmean(readings), 1) if readings else None,
        "attest_gas": round(statistics.fmean(plain), 1) if plain else None,
    }


def _check_vehicle(response: httpx.Response, vin: str, expected: int) -> None:
    if response.status_code != 200:
        raise ScaleBenchError(f"verifying vehicle {vin} answered {response.status_code}: {response.text[:200]}")
    found = len(response.json()["attestations"])
    if found != expected:
        raise ScaleBenchError(f"vehicle {vin} has {expected} records on chain but the portal shows {found}")


def _check_document(response: httpx.Response, record: ScaleRecord) -> None:
    body = response.json() if response.status_code == 200 else {}
    if not body.get("found") or body.get("status") != "valid" or body.get("kind") != record.kind:
        raise ScaleBenchError(
            f"the document of record {record.index} should be valid on chain; the portal answered "
            f"{response.status_code}: {response.text[:200]}"
        )


def _spread(count: int, samples: int) -> list[int]:
    """Up to ``samples`` indices spread evenly over ``range(count)`` (first and last included)."""
    if count <= samples:
        return list(range(count))
    return sorted({round(i * (count - 1) / (samples - 1)) for i in range(samples)}) if samples > 1 else [0]


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))], 2)


def _every(step: int, report: Callable[[int], None]) -> Callable[[int], None]:
    """A progress callback that reports only when another ``step`` have passed."""
    last = [0]

    def progress(done: int) -> None:
        if done - last[0] >= step:
            last[0] = done
            report(done)

    return progress


RATIO_FIGURES = (
    "load_records_per_s",
    "indexer_events_per_s",
    "verify_vin_cold_p50_ms",
    "verify_vin_warm_p50_ms",
    "verify_document_p50_ms",
)


def _add_ratios(points: list[dict[str, Any]]) -> None:
    """``<figure>_vs_first``: each time figure over its value at the smallest size."""
    first = points[0]
    for point in points:
        for figure in RATIO_FIGURES:
            if first.get(figure):
                point[f"{figure}_vs_first"] = round(point[figure] / first[figure], 3)
