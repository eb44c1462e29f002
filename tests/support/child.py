"""Child processes of a test or a benchmark that die with the process that started them.

    python -m tests.support.child PARENT_PID (-m MODULE | -c CODE) [ARG ...]

runs MODULE (or CODE) as ``python -m MODULE ARG ...`` (``python -c CODE ARG ...``) would, in a process
that gets SIGKILL when the thread of PARENT_PID that started it ends (Linux PR_SET_PDEATHSIG), and
that exits at once if PARENT_PID is no longer its parent when it asks for that.

Why the child asks, not the parent: ``subprocess.Popen(preexec_fn=...)`` would set the signal between
fork and exec, but with a preexec_fn CPython forks with the interpreter's fork handlers and runs
Python in the forked copy. A test process has gRPC calls in flight, and grpcio's fork handlers then
crash a share of those children (SIGSEGV before exec: grpc/grpc#43055; the figures are in
docs/testing.md). Without a preexec_fn nothing runs between fork and exec.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def command(parent: int, target: list[str]) -> list[str]:
    """The command line that runs ``target`` (``["-m", MODULE, ...]`` or ``["-c", CODE, ...]``) as a child
    of ``parent`` (this process's pid, when it starts it) that dies with it."""
    if len(target) < 2 or target[0] not in ("-m", "-c"):
        raise ValueError(f"a child runs '-m MODULE' or '-c CODE', not {target[:2]!r}")
    return [sys.executable, "-m", __name__, str(parent), *target]


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when the thread that started it ends; exit now if ``parent`` (the pid that
    started it) is not its parent any more, i.e. died before the request took hold."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str]) -> None:
    parent, kind, target, *args = argv
    die_with_parent(int(parent))
    if kind == "-m":
        sys.argv = [target, *args]  # run_module puts the module's file first, as `python -m` does
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *args]
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})


if __name__ == "__main__":
    main(sys.argv[1:])
