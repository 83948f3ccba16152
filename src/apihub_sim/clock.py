"""The virtual clock, as the domain package sees it.

Installed into every ``apihub.*`` module (and every handler module the simulation loads):

* ``utcnow`` (each module imports ``apihub.models.utcnow`` by name: job timestamps, the sweeper's
  "now", lock ages) reads the virtual clock, from a fixed epoch;
* the module's ``time`` (``time.monotonic`` for deadlines and durations, ``time.time`` for the
  limiter's slots and tokens, ``time.sleep`` for waits) is a stand-in whose clocks read virtual
  time and whose ``sleep`` waits virtual time (``Kernel.sleep``);
* defaults bound at definition time (``clock=time.time``, ``sleep=time.sleep`` in the limiter and
  the AWS retries) are swapped for the virtual ones;
* botocore's retry pause (``botocore.endpoint`` sleeps between attempts) waits virtual time too.

``uninstall`` puts every one of them back.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time as _real_time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FunctionType, ModuleType
from typing import Any

from apihub_sim.kernel import Kernel

# Where virtual wall-clock time starts: a Monday, so cron-like reasoning in a report reads easily.
DEFAULT_EPOCH = datetime(2030, 1, 7, tzinfo=UTC)
_MONOTONIC_BASE = 10_000.0


class _TimeModule:
    """``time`` with some functions replaced; everything else is the real module's."""

    def __init__(self, overrides: dict[str, Callable[..., Any]]) -> None:
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(_real_time, name)


class VirtualTime:
    def __init__(self, kernel: Kernel, epoch: datetime = DEFAULT_EPOCH) -> None:
        self.kernel = kernel
        self.epoch = epoch
        self._epoch_s = epoch.timestamp()
        self._undo: list[Callable[[], None]] = []
        self._patched: set[int] = set()
        self.module = _TimeModule(
            {
                "time": self.time,
                "time_ns": lambda: int(self.time() * 1e9),
                "monotonic": self.monotonic,
                "monotonic_ns": lambda: int(self.monotonic() * 1e9),
                "perf_counter": self.monotonic,
                "perf_counter_ns": lambda: int(self.monotonic() * 1e9),
                "sleep": self.sleep,
            }
        )
        self._swaps: dict[int, Callable[..., Any]] = {
            id(_real_time.time): self.time,
            id(_real_time.monotonic): self.monotonic,
            id(_real_time.perf_counter): self.monotonic,
            id(_real_time.sleep): self.sleep,
        }

    # ------------------------------------------------------------------ the clock
    def time(self) -> float:
        return self._epoch_s + self.kernel.now

    def monotonic(self) -> float:
        return _MONOTONIC_BASE + self.kernel.now

    def sleep(self, seconds: float) -> None:
        self.kernel.sleep(seconds)

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def at(self, seconds: float) -> datetime:
        """The wall-clock time of virtual second ``seconds``."""
        return datetime.fromtimestamp(self._epoch_s + seconds, UTC)

    # ------------------------------------------------------------------ installing
    def install(self) -> None:
        """Every ``apihub`` module (all imported now, so none is loaded later with the real clock)."""
        import apihub
        from apihub import models

        for info in pkgutil.walk_packages(apihub.__path__, "apihub."):
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional protocol dependency missing: not used by the simulation
                continue
        self._real_utcnow = models.utcnow
        for name, module in list(sys.modules.items()):
            if name == "apihub" or name.startswith("apihub."):
                self.patch_module(module)
        import botocore.endpoint

        # botocore sleeps between the attempts of a call it retries (throttling, 5xx): virtual time.
        self._set(botocore.endpoint, "time", _TimeModule({"sleep": self.sleep}))

    def patch_module(self, module: ModuleType) -> None:
        """Point one module at the virtual clock (idempotent)."""
        if id(module) in self._patched:
            return
        self._patched.add(id(module))
        if getattr(module, "time", None) is _real_time:
            self._set(module, "time", self.module)
        real_utcnow = getattr(self, "_real_utcnow", None)
        if real_utcnow is not None and getattr(module, "utcnow", None) is real_utcnow:
            self._set(module, "utcnow", self.utcnow)
        for value in list(vars(module).values()):
            if isinstance(value, FunctionType) and value.__module__ == module.__name__:
                self._swap_defaults(value)
            elif inspect.isclass(value) and value.__module__ == module.__name__:
                for member in list(vars(value).values()):
                    fn = getattr(member, "__func__", member)  # staticmethod / classmethod
                    if isinstance(fn, FunctionType):
                        self._swap_defaults(fn)

    def _swap_defaults(self, fn: FunctionType) -> None:
        defaults = fn.__defaults__
        if defaults and any(id(d) in self._swaps for d in defaults):
            fn.__defaults__ = tuple(self._swaps.get(id(d), d) for d in defaults)
            self._undo.append(lambda: setattr(fn, "__defaults__", defaults))
        kwdefaults = fn.__kwdefaults__
        if kwdefaults and any(id(d) in self._swaps for d in kwdefaults.values()):
            fn.__kwdefaults__ = {k: self._swaps.get(id(v), v) for k, v in kwdefaults.items()}
            self._undo.append(lambda: setattr(fn, "__kwdefaults__", kwdefaults))

    def _set(self, obj: Any, name: str, value: Any) -> None:
        old = getattr(obj, name)
        setattr(obj, name, value)
        self._undo.append(lambda: setattr(obj, name, old))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()
        self._patched.clear()
