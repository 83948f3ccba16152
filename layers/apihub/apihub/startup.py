"""A function's init phase: its imports and module-level setup, with the garbage collector paused.

A cold start builds objects that live as long as the container (modules, classes, functions,
pydantic and PynamoDB schemas: tens of thousands that the collector tracks) and frees
almost none. CPython's collector does not know that: every 700 allocations it scans the youngest
objects, more rarely the older ones, and once the heap has grown enough all of them, finding
nothing to free (what that cost is measured in docs/decisions.md). Each ``functions/<f>/app.py``
wraps its imports in :func:`cold_start`:

* the collector is off while the container initialises;
* then ``gc.freeze()`` moves everything the init made to the permanent generation, so no later
  collection (during a request) scans those objects again, and the collector goes back on.

The cost is that a reference cycle that became garbage during the init is never freed: a few KB,
once per container. Nothing here is a library's job (the standard ``gc`` module is the interface).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cold_start() -> Iterator[None]:
    """Run the block (a function's imports and setup) with the collector paused, then freeze what it
    built and resume collection. A caller that had paused the collector itself keeps it paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
