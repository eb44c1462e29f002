"""`make lint`'s architecture check: the rules of docs/adding-a-service.md that a reader can test.

1. The shared package (baylink/) imports no service, except the one top-level command that mounts
   each service's CLI (baylink/cli/main.py).
2. A service imports no other service: they talk gRPC and Kafka.
3. A domain (services/*/domain/, also inside a gateway capability) imports no grpc, protobuf,
   generated code, SQLAlchemy, Alembic, Kafka, faust or FastAPI.
4. Production code (baylink/, services/) never imports tests/ or devtools/.
5. No import circle among modules (imports at module level, those for type checking included:
   a circle that only the type checker sees is still two modules that cannot be read apart).
6. A service layer (services/*/service_layer/, also inside a gateway capability) imports no
   adapters and no SQLAlchemy: use cases talk to the ports in its ports.py.
7. A hand-written module over 300 lines says why at its top: its first lines contain "over 300 lines".

Prints one line per breach and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("baylink", "services")
MOUNT = Path("baylink/cli/main.py")
NOT_IN_A_DOMAIN = (
    "grpc", "google.protobuf", "google.rpc", "sqlalchemy", "alembic", "aiokafka", "faust", "mode", "fastapi",
    "starlette", "uvicorn",
)  # fmt: skip
MAX_LINES = 300
REASON = "over 300 lines"


def modules(root: Path) -> Iterator[tuple[str, Path]]:
    for top in PRODUCTION:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            if _generated(relative) or "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), relative


def _generated(relative: Path) -> bool:
    # baylink/<contract>/v1/ is made by `make protos`.
    return relative.parts[0] == "baylink" and len(relative.parts) > 2 and relative.parts[2] == "v1"


def module_level_imports(tree: ast.Module, name: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module or module.attribute) for imports executed when the module loads."""
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If | ast.Try | ast.With):
            inner = list(node.body) + list(getattr(node, "orelse", [])) + list(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                inner.extend(handler.body)
            yield from _module_level(inner)
        else:
            yield node


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = name.split(".") if is_package else name.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def resolve(target: str, known: set[str]) -> str | None:
    """The project module an import names (`a.b.c` may be module a.b's attribute c)."""
    while target:
        if target in known:
            return target
        target = target.rpartition(".")[0]
    return None


def breaches(root: Path = ROOT) -> Iterator[str]:
    found = dict(modules(root))
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, relative in found.items():
        text = (root / relative).read_text()
        tree = ast.parse(text)
        imports = list(module_level_imports(tree, name, relative.name == "__init__.py"))
        lazy = [
            (n.lineno, alias.name if isinstance(n, ast.Import) else _absolute(n, name, relative.name == "__init__.py"))
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for alias in n.names
        ]
        service = relative.parts[1] if relative.parts[0] == "services" and len(relative.parts) > 2 else None
        for line, target in lazy:
            where = f"{relative}:{line}"
            if target.startswith(("tests", "devtools")):
                yield f"{where}: production code imports {target}"
            if relative.parts[0] == "baylink" and target.startswith("services") and relative != MOUNT:
                yield f"{where}: the shared package imports a service ({target}); mount it in {MOUNT}"
            if service and target.startswith("services.") and target.split(".")[1] != service:
                yield f"{where}: service {service} imports another service ({target})"
            if "domain" in relative.parts and target.startswith(NOT_IN_A_DOMAIN):
                yield f"{where}: a domain imports {target}"
            if "domain" in relative.parts and target.startswith("baylink.") and ".v1" in target:
                yield f"{where}: a domain imports generated code ({target})"
            if "service_layer" in relative.parts and (".adapters" in target or target.startswith("sqlalchemy")):
                yield f"{where}: a service layer imports {target} (talk to a port instead)"
        graph[name] = {m for _, t in imports if (m := resolve(t, known)) and m != name}
        lines = text.count("\n")
        if lines > MAX_LINES and REASON not in "\n".join(text.splitlines()[:12]).lower():
            yield f"{relative}: {lines} lines and no reason at its top (a line saying why it is {REASON})"
    for cycle in circles(graph):
        yield "import circle: " + " -> ".join([*cycle, cycle[0]])


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    problems = sorted(set(breaches()))
    for line in problems:
        print(line)
    if problems:
        print(f"check_architecture: {len(problems)} breach(es)", file=sys.stderr)
        return 1
    print("check_architecture: the folder rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
