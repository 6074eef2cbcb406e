"""The layout's import rules hold for the whole repository, and the checker catches each kind of broken rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layout_rules import circles, imports_of, violations

ROOT = Path(__file__).resolve().parent.parent


def test_the_repository_keeps_every_import_rule() -> None:
    problems = violations(ROOT)
    assert problems == [], "\n".join(problems)


def plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in ("consortium", "node_adapter", "consortium_portal", "oracle"):
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").touch()
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"node_adapter/outbox.py": "from consortium_portal.models import ApiKey\n"},
            "node_adapter/outbox.py:1: imports consortium_portal.models: node_adapter is the chain bridge",
        ),
        (
            {"consortium/cli.py": "def f():\n    import oracle.pipeline\n", "oracle/pipeline.py": ""},
            "consortium/cli.py:2: imports oracle.pipeline: consortium reaches the portal and the oracle only through",
        ),
        (
            {"oracle/rules.py": "from consortium_portal import policy\n", "consortium_portal/policy.py": ""},
            "oracle/rules.py:1: imports consortium_portal.policy: the portal and the oracle never import each other",
        ),
        (
            {"oracle/rules.py": "from oracle.simulators.fleet import CAR_MODELS\n", "oracle/simulators/fleet.py": ""},
            "oracle/rules.py:1: imports oracle.simulators.fleet: production code never imports the simulators",
        ),
        (
            {
                "consortium_portal/receipts.py": "from consortium_portal.anchor import anchored\n",
                "consortium_portal/anchor.py": "def f():\n    from consortium_portal import receipts\n",
            },
            "import circle consortium_portal.anchor <-> consortium_portal.receipts: consortium_portal/anchor.py:2: "
            "imports consortium_portal.receipts; consortium_portal/receipts.py:1: imports consortium_portal.anchor",
        ),
    ],
    ids=["bridge-imports-portal", "host-imports-oracle", "oracle-imports-portal", "simulators", "circle"],
)
def test_a_planted_bad_import_is_named_with_file_and_line(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    problems = violations(plant(tmp_path, files))
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_what_is_allowed_is_not_reported(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "oracle/tools/demo.py": "from oracle.simulators import fleet\n",
            "oracle/simulators/fleet.py": "",
            "consortium_portal/cli.py": "from consortium.supervisor import Spec\nfrom node_adapter import outbox\n",
            "consortium/supervisor.py": "",
            "node_adapter/outbox.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from oracle import x\n",
        },
    )
    assert violations(root) == []


def test_imports_resolve_to_modules_and_packages(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "node_adapter/clients/__init__.py": "from node_adapter.clients.types import Role\n",
            "node_adapter/clients/types.py": "",
            "node_adapter/outbox.py": "from node_adapter.clients import Role\nfrom . import merkle\n",
            "node_adapter/merkle.py": "",
        },
    )
    targets = [i.target for i in imports_of(root, root / "node_adapter" / "outbox.py")]
    assert targets == ["node_adapter.clients", "node_adapter.merkle"]


def test_circles_finds_loops_and_only_loops() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(circles(edges)) == [["a", "b", "c"], ["e"]]
    assert circles({"a": {"b"}, "b": set()}) == []
