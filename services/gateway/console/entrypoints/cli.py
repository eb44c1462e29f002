"""``baylink console``: what an operator needs to set up the operator console.

``hash-password`` prints a scrypt hash for the ``password_hash`` of a user in the file named by
``BAYLINK_GATEWAY_CONSOLE_USERS_FILE``. The password is asked for (twice, not echoed) unless
``--password-stdin`` reads it from standard input.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from services.gateway.console.domain.passwords import hash_password

app = typer.Typer(name="console", help="The operator console.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Set up the operator console (served by the gateway)."""


@app.command("hash-password")
def hash_password_command(
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (one line).")
    ] = False,
) -> None:
    """Print a salted scrypt hash of a password, for a [[user]] entry's password_hash."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        typer.echo("error: the password must be at least 8 characters", err=True)
        raise typer.Exit(2)
    typer.echo(hash_password(password))
