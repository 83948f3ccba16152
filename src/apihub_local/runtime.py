"""Runs the template's functions in this process the way Lambda would: handler loaded from its
``CodeUri`` folder, a context with a deadline from the function's ``Timeout``."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
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


def load_handler(fn: FunctionDef, root: Path = ROOT) -> Callable[[dict[str, Any], Any], Any]:
    """Import ``<CodeUri>/app.py`` under a unique module name (every function's file is app.py)."""
    module_name, _, attr = fn.handler.rpartition(".")
    key = f"apihub_fn_{fn.folder}"
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


class Functions:
    """The template's functions, invocable by logical id."""

    def __init__(self, template: Template | None = None, *, timeout_scale: float = 1.0) -> None:
        self.template = template or Template()
        self.defs = self.template.functions()
        self.timeout_scale = timeout_scale

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        fn = self.defs[logical_id]
        context = LambdaContext(function_name=logical_id, timeout_s=fn.timeout * self.timeout_scale)
        return load_handler(fn)(event, context)

    def by_folder(self, folder: str) -> FunctionDef:
        return next(f for f in self.defs.values() if f.folder == folder)
