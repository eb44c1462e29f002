"""settle_heap: what a service process does to its garbage collector once it serves.

Each test runs in a fresh interpreter: the collector's state is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def _in_fresh_process(body: str) -> dict[str, Any]:
    code = "import gc, json\nfrom baylink.runtime.host import settle_heap\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_startup_objects_are_frozen_out_of_collections() -> None:
    found = _in_fresh_process(
        """
        startup = [{"n": i} for i in range(1000)]  # reference data loaded at startup
        settle_heap()
        tracked = {id(o) for o in gc.get_objects()}
        print(json.dumps({
            "frozen": gc.get_freeze_count(),
            "startup_tracked": sum(id(o) in tracked for o in startup),
        }))
        """
    )
    assert found["frozen"] >= 1000
    assert found["startup_tracked"] == 0  # no collection traverses them any more


def test_cycles_made_after_settling_are_still_reclaimed() -> None:
    found = _in_fresh_process(
        """
        import weakref
        settle_heap()
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        before = alive() is not None
        gc.collect()
        print(json.dumps({"enabled": gc.isenabled(), "before": before, "after": alive() is not None}))
        """
    )
    assert found == {"enabled": True, "before": True, "after": False}
