"""A copy of the parts of the tree `make deploy-check` reads, to break on purpose, and kustomize."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COPIED = ("deploy/k8s", "deploy/kafka/topics.toml", "services/registry/data")


@pytest.fixture(scope="session")
def kustomize() -> str:
    """The pinned kustomize, installed by the project's own script if it is not there yet."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts/install-kustomize.sh")], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative in COPIED:
        source, target = REPO / relative, root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return root


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must be there) by ``new`` in ``path``."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))
