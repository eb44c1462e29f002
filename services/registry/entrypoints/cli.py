"""``baylink catalog``: the registry's service catalogue (事项清单), as the repository holds it.

    baylink catalog list [--authority 440605] [--lang zh-Hant|zh-Hans|en] [--json]
    baylink catalog show 440605-HKMO-CO-EST [--lang ...] [--json]

An offline tool: it reads the catalogue files (services/registry/data/catalogue), not the running
service. The data is validated against its schema on load; an invalid catalogue exits 1 with the errors.
Mounted as ``baylink catalog`` by baylink/cli/main.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from baylink import errors
from services.registry.adapters.catalogue_file import CATALOGUE_DIR, CatalogueError, load_catalogue
from services.registry.domain.catalogue import Catalogue, CatalogueItem
from services.registry.domain.text import Language, LocalText

app = typer.Typer(
    name="catalog",
    help="The registry's service catalogue: list items, show one.\n\n"
    "Offline: reads the catalogue files in the repository, not the running registry service.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=shutil.get_terminal_size((140, 24)).columns, highlight=False)

LangOption = Annotated[str, typer.Option("--lang", "-l", help="zh-Hant, zh-Hans or en.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DirOption = Annotated[Path, typer.Option("--dir", help="Catalogue directory.", hidden=True)]


@app.callback()
def _group() -> None:
    """Catalogue tools."""


def _load(directory: Path) -> Catalogue:
    try:
        return load_catalogue(directory)
    except CatalogueError as exc:
        typer.echo(f"catalogue invalid: {exc}", err=True)
        raise typer.Exit(1) from None


def _item_json(item: CatalogueItem) -> dict[str, Any]:
    def t(text: LocalText) -> dict[str, str]:
        return {"zh-Hans": text.zh_hans, "zh-Hant": text.zh_hant, "en": text.en}

    return {
        "code": item.code,
        "title": t(item.title),
        "authority": {"division_code": item.authority.division_code, "name": t(item.authority.name)},
        "kind": item.kind.value,
        "category": item.category.name.lower(),
        "legal_basis": [t(x) for x in item.legal_basis],
        "procedure": [t(x) for x in item.procedure],
        "materials": [
            {
                "type": m.material_type,
                "title": t(m.title),
                "mandatory": m.mandatory,
                "signatories": [s.value for s in m.signatories],
            }
            for m in item.materials
        ],
        "time_limit_working_days": item.time_limit_working_days,
        "fee_cny": str(item.fee_cny),
        "name_check_required": item.name_check_required,
    }


@app.command("list")
def list_items(
    authority: Annotated[str, typer.Option("--authority", "-a", help="Division code, e.g. 440605.")] = "",
    lang: LangOption = "en",
    as_json: JsonOption = False,
    directory: DirOption = CATALOGUE_DIR,
) -> None:
    """List catalogue items (all, or one authority's)."""
    language = Language.parse(lang)
    items = _load(directory).items(authority)
    if as_json:
        typer.echo(json.dumps([_item_json(i) for i in items], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Service catalogue ({len(items)} items)")
    for column in ("code", "title", "authority", "days", "fee CNY"):
        table.add_column(column, no_wrap=column != "title")
    for item in items:
        table.add_row(
            item.code,
            item.title.in_(language),
            f"{item.authority.division_code} {item.authority.name.in_(language)}",
            str(item.time_limit_working_days),
            f"{item.fee_cny:.2f}",
        )
    console.print(table)


@app.command("show")
def show_item(
    code: Annotated[str, typer.Argument(metavar="ITEM", help="Item code, e.g. 440605-HKMO-CO-EST.")],
    lang: LangOption = "en",
    as_json: JsonOption = False,
    directory: DirOption = CATALOGUE_DIR,
) -> None:
    """Show one item: legal basis, procedure, materials and who signs them, time limit, fee."""
    language = Language.parse(lang)
    try:
        item = _load(directory).get(code)
    except errors.NotFound:
        typer.echo(f"no catalogue item {code!r} (see `baylink catalog list`)", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(_item_json(item), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]{item.code}[/bold]  {item.title.in_(language)}")
    console.print(f"authority     {item.authority.division_code} {item.authority.name.in_(language)}")
    console.print(
        f"kind          {item.kind.value} ({item.category.name.lower()}, USCC category {item.category.value})"
    )
    console.print(f"time limit    {item.time_limit_working_days} working days")
    console.print(f"fee           CNY {item.fee_cny:.2f}")
    console.print(f"name check    {'required' if item.name_check_required else 'not required'}")
    console.print("legal basis")
    for basis in item.legal_basis:
        console.print(f"  - {basis.in_(language)}")
    console.print("procedure")
    for number, step in enumerate(item.procedure, 1):
        console.print(f"  {number}. {step.in_(language)}")
    table = Table(title="materials")
    for column in ("type", "title", "mandatory", "signed by"):
        table.add_column(column)
    for m in item.materials:
        signed_by = ", ".join(s.value for s in m.signatories) or "-"
        table.add_row(m.material_type, m.title.in_(language), "yes" if m.mandatory else "no", signed_by)
    console.print(table)
