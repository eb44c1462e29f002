"""Offline validation of every rendered object.

Built-in kinds go to ``kubernetes-validate`` (the Kubernetes OpenAPI schemas it ships, strict: an
unknown field fails). Custom resources (Strimzi, CloudNativePG, the Barman Cloud plugin) go to the
``openAPIV3Schema`` of their CRDs, vendored under ``deploy/k8s/crd-schemas/`` by ``vendor`` from the
projects' published CRD files (versions in its README). The API server prunes unknown fields of a
custom resource silently; here an unknown field fails, as it would under ``kubectl apply
--validate=strict``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33"  # the oldest minor the manifests must apply to


def schema_path(directory: Path, group: str, version: str, kind: str) -> Path:
    return directory / group / f"{kind.lower()}_{version}.json"


def vendor(crd_files: Iterable[Path], directory: Path, kinds: set[str] | None = None) -> list[Path]:
    """Extract the served versions' schemas of the CRDs in ``crd_files`` (only ``kinds`` if given)."""
    written = []
    for crd_file in crd_files:
        for doc in yaml.safe_load_all(crd_file.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            kind = spec["names"]["kind"]
            if kinds is not None and kind not in kinds:
                continue
            for version in spec["versions"]:
                if not version.get("served", False):
                    continue
                path = schema_path(directory, spec["group"], version["name"], kind)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(version["schema"]["openAPIV3Schema"], indent=1, sort_keys=True) + "\n")
                written.append(path)
    return written


def strict(schema: Any) -> Any:
    """The schema with unknown properties refused wherever it lists properties and keeps no unknown
    fields (``x-kubernetes-preserve-unknown-fields``) and says nothing of additional properties."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


class Validator:
    """Validates objects; custom resources against the vendored schemas in ``crd_dir``."""

    def __init__(self, crd_dir: Path):
        self.crd_dir = crd_dir
        self._crd: dict[Path, jsonschema.protocols.Validator] = {}

    def errors(self, obj: dict[str, Any]) -> list[str]:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        group, _, version = api_version.rpartition("/")
        if group and "." in group and not group.endswith(".k8s.io"):
            return list(self._crd_errors(obj, group, version, kind))
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path) or "(object)"
            return [f"{where}: {exc.message}"]
        except kubernetes_validate.SchemaNotFoundError:
            return [f"no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}"]
        return []

    def _crd_errors(self, obj: dict[str, Any], group: str, version: str, kind: str) -> Iterator[str]:
        path = schema_path(self.crd_dir, group, version, kind)
        if not path.exists():
            yield f"no vendored schema for {group}/{version} {kind} (expected {path})"
            return
        if path not in self._crd:
            schema = strict(json.loads(path.read_text()))
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            for key in ("apiVersion", "kind"):
                schema["properties"].setdefault(key, {"type": "string"})
            self._crd[path] = jsonschema.Draft7Validator(schema)
        for error in sorted(self._crd[path].iter_errors(copy.deepcopy(obj)), key=lambda e: list(e.path)):
            where = "/".join(str(p) for p in error.path) or "(object)"
            yield f"{where}: {error.message}"
