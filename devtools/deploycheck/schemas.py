"""Offline validation of every rendered object.

Built-in kinds go to the strict Kubernetes schemas ``kubernetes-validate`` ships (an unknown field
fails). Custom resources (Strimzi, CloudNativePG, the Barman Cloud plugin) go to the
``openAPIV3Schema`` of their CRDs, vendored under ``deploy/k8s/crd-schemas/`` by ``vendor`` from the
projects' published CRD files (versions in its README). The API server prunes unknown fields of a
custom resource silently; here an unknown field fails, as it would under ``kubectl apply
--validate=strict``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils
from referencing import Registry, Resource

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
    """Validates objects; custom resources against the vendored schemas in ``crd_dir``, built-in
    kinds against the strict schemas ``kubernetes-validate`` ships (one compiled validator per kind,
    every error reported, not only the first)."""

    def __init__(self, crd_dir: Path):
        self.crd_dir = crd_dir
        self._crd: dict[Path, jsonschema.protocols.Validator] = {}
        self._builtin: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    def errors(self, obj: dict[str, Any]) -> list[str]:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        group, _, version = api_version.rpartition("/")
        if group and "." in group and not group.endswith(".k8s.io"):
            return list(self._crd_errors(obj, group, version, kind))
        validator = self._builtin_validator(api_version, kind)
        if validator is None:
            return [f"no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}"]
        return [_describe(error) for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.path))]

    def _builtin_validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        key = (api_version, kind)
        if key not in self._builtin:
            self._builtin[key] = _builtin_validator(api_version, kind)
        return self._builtin[key]

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
            yield _describe(error)


def _describe(error: jsonschema.ValidationError) -> str:
    return f"{'/'.join(str(p) for p in error.path) or '(object)'}: {error.message}"


@functools.cache
def _definitions(schema_dir: str) -> Any:
    return utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", KUBERNETES_VERSION)


def _builtin_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """The strict schema of a built-in kind, laid out as ``kubernetes_validate.validate`` finds it."""
    version = [v for v in utils.all_versions() if utils.major_minor(v) <= KUBERNETES_VERSION][-1]
    schema_dir = f"v{version}-local-strict"
    file_part = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{file_part}.json", KUBERNETES_VERSION
        )
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(_definitions(schema_dir)) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)
