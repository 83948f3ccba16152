"""Runs the template's functions in this process the way Lambda would: handler loaded from its
``CodeUri`` folder, a context with a deadline from the function's ``Timeout``."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from apihub_local.template import ROOT, FunctionDef, Template


@dataclass
class LambdaContext:
    function_name: str
    timeout_s: float
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


_modules: dict[str, ModuleType] = {}


def load_handler(fn: FunctionDef, root: Path = ROOT, instance: int = 0) -> Callable[[dict[str, Any], Any], Any]:
    """Import ``<CodeUri>/app.py`` under a unique module name (every function's file is app.py).

    ``instance`` > 0 loads another copy with its own module globals: one per concurrent execution
    environment, as Lambda gives each concurrent invocation its own process."""
    module_name, _, attr = fn.handler.rpartition(".")
    key = f"apihub_fn_{fn.folder}" + (f"_{instance}" if instance else "")
    module = _modules.get(key)
    if module is None:
        path = root / fn.code_uri / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(key, path)
        assert spec and spec.loader, f"cannot load {path}"
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
        _modules[key] = module
    handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attr)
    return handler


_load_lock = threading.Lock()
_current = threading.local()
_router_state = threading.local()


class _PerThread:
    """A class attribute whose value belongs to the thread that set it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        try:
            return getattr(_router_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, obj: object, value: Any) -> None:
        setattr(_router_state, self.name, value)


def router_state_per_thread() -> None:
    """Powertools' HTTP resolver keeps the request on class attributes of ``BaseRouter``
    (``BaseRouter.current_event = ...``, ``BaseRouter.lambda_context = ...``), shared by every
    resolver in the process. In Lambda one process serves one invocation at a time; here concurrent
    API invocations run on threads of one process, so those two attributes are made per thread:
    a metaclass property catches the class-level writes and reads, a descriptor in the class
    serves the instances (``app.current_event``). Without it, API calls had to take turns (the
    local stack then served a few requests per second). Written by hand: Powertools has no switch
    for it, and it is needed only where many invocations share a process."""
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter.__dict__.get("current_event"), _PerThread):
        return
    slots = {name: _PerThread(name) for name in ("current_event", "lambda_context")}
    meta = type(
        "PerThreadRouterMeta",
        (type(BaseRouter),),
        {name: property(slot.__get__, slot.__set__) for name, slot in slots.items()},
    )
    for name, slot in slots.items():
        type.__setattr__(BaseRouter, name, slot)
    BaseRouter.__class__ = meta  # type: ignore[method-assign]  # a metaclass swap; mypy sees __class__ as a method


def current_function() -> str | None:
    """The logical id of the function this thread is running, if any (for local log lines and the
    AWS calls the IAM check records, apihub_local.aws_calls)."""
    return getattr(_current, "function", None)


@contextmanager
def acting_as(logical_id: str | None) -> Iterator[None]:
    """Run a block as function ``logical_id`` (``current_function()`` answers it on this thread)."""
    outer = current_function()
    _current.function = logical_id
    try:
        yield
    finally:
        _current.function = outer


class Functions:
    """The template's functions, invocable by logical id (from any number of threads).

    Each concurrent invocation of a function gets its own execution environment (its own copy of the
    handler module, reused when free, like a warm Lambda container), so module-level state such as a
    shared ``BatchProcessor`` is never used by two invocations at once."""

    def __init__(self, template: Template | None = None, *, timeout_scale: float = 1.0) -> None:
        router_state_per_thread()
        self.template = template or Template()
        self.defs = self.template.functions()
        self.timeout_scale = timeout_scale
        self._free: dict[str, list[int]] = {}
        self._created: dict[str, int] = {}

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        fn = self.defs[logical_id]
        context = LambdaContext(function_name=logical_id, timeout_s=fn.timeout * self.timeout_scale)
        instance = self._checkout(logical_id)
        try:
            with _load_lock:
                handler = load_handler(fn, instance=instance)
            with acting_as(logical_id):
                return handler(event, context)
        finally:
            with _load_lock:
                self._free.setdefault(logical_id, []).append(instance)

    def preload(self) -> None:
        """Import every function's handler once (cold starts before the first request)."""
        with _load_lock:
            for fn in self.defs.values():
                load_handler(fn)

    def _checkout(self, logical_id: str) -> int:
        with _load_lock:
            free = self._free.setdefault(logical_id, [])
            if free:
                return free.pop()
            instance = self._created.get(logical_id, 0)
            self._created[logical_id] = instance + 1
            return instance

    def by_folder(self, folder: str) -> FunctionDef:
        return next(f for f in self.defs.values() if f.folder == folder)
