"""`make lint`'s architecture check finds each kind of breach it names, and only those."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "check_architecture.py"
spec = importlib.util.spec_from_file_location("check_architecture", SCRIPT)
assert spec and spec.loader
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    write(tmp_path, "baylink/__init__.py", "")
    write(tmp_path, "baylink/cli/__init__.py", "")
    write(tmp_path, "baylink/cli/main.py", "from services.alpha.entrypoints import cli\n")
    write(tmp_path, "services/alpha/__init__.py", "")
    write(tmp_path, "services/alpha/entrypoints/cli.py", "from services.alpha.domain import model\n")
    write(tmp_path, "services/alpha/domain/model.py", "from dataclasses import dataclass\n")
    write(tmp_path, "services/beta/service.py", "import grpc\n")
    yield tmp_path


def test_a_tree_that_keeps_the_rules_has_no_breach(tree: Path) -> None:
    assert list(check.breaches(tree)) == []


@pytest.mark.parametrize(
    ("relative", "text", "finding"),
    [
        ("baylink/ops/reader.py", "from services.alpha.domain import model\n", "the shared package imports a service"),
        ("services/beta/use.py", "from services.alpha.domain.model import X\n", "service beta imports another service"),
        ("services/alpha/domain/rows.py", "import sqlalchemy as sa\n", "a domain imports sqlalchemy"),
        ("services/alpha/domain/wire.py", "from baylink.alpha.v1 import a_pb2\n", "a domain imports generated code"),
        ("services/alpha/adapters/pki.py", "def f():\n    from devtools.testpki import build\n", "imports devtools"),
        ("services/alpha/big.py", '"""Big."""\n' + "x = 1\n" * 301, "no reason at its top"),
        (
            "services/alpha/service_layer/use.py",
            "from services.alpha.adapters import repo\n",
            "a service layer imports",
        ),
        ("services/alpha/service_layer/sql.py", "import sqlalchemy\n", "a service layer imports sqlalchemy"),
    ],
)
def test_each_kind_of_breach_is_reported_with_its_place(tree: Path, relative: str, text: str, finding: str) -> None:
    write(tree, relative, text)
    found = list(check.breaches(tree))
    assert len(found) == 1 and finding in found[0] and relative in found[0], found


def test_a_long_module_that_says_why_is_accepted(tree: Path) -> None:
    write(tree, "services/alpha/big.py", '"""Big: over 300 lines because X."""\n' + "x = 1\n" * 301)
    assert list(check.breaches(tree)) == []


def test_an_import_circle_is_reported_even_when_only_the_type_checker_sees_it(tree: Path) -> None:
    write(tree, "services/alpha/one.py", "from services.alpha import two\n")
    write(
        tree,
        "services/alpha/two.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from services.alpha.one import One\n",
    )
    circle = "services.alpha.one -> services.alpha.two -> services.alpha.one"
    assert list(check.breaches(tree)) == [f"import circle: {circle}"]


def test_lazy_imports_make_no_circle(tree: Path) -> None:
    write(tree, "services/alpha/one.py", "from services.alpha import two\n")
    write(tree, "services/alpha/two.py", "def f():\n    from services.alpha import one\n")
    assert list(check.breaches(tree)) == []
