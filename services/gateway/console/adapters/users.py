"""Console users from a TOML file.

The file: ``[[user]] name = "…", role = "viewer" | "operator", password_hash = "scrypt$…"`` — the
hash ``baylink console hash-password`` prints (its format: ``console/domain/passwords.py``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from services.gateway.console.domain.passwords import ROLES, ConsoleUser, parse_hash


def load_users(path: Path) -> dict[str, ConsoleUser]:
    """The users of ``path`` by name; ValueError naming the entry that is wrong."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read console users: {exc}") from None
    users: dict[str, ConsoleUser] = {}
    for i, entry in enumerate(data.get("user", [])):
        where = f"{path}: user #{i + 1}"
        unknown = set(entry) - {"name", "role", "password_hash"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        name, role, stored = entry.get("name", ""), entry.get("role", ""), entry.get("password_hash", "")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: name is required")
        if role not in ROLES:
            raise ValueError(f"{where} ({name}): role must be one of {', '.join(ROLES)}")
        try:
            parse_hash(stored)
        except ValueError as exc:
            raise ValueError(f"{where} ({name}): password_hash: {exc}") from None
        if name in users:
            raise ValueError(f"{where}: user {name!r} is listed twice")
        users[name] = ConsoleUser(name, role, stored)
    return users
