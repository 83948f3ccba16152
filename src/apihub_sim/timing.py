"""The template's timing, read from ``template.yaml`` (the deployment, not the local time scale):
queue visibility timeouts and redrive, event source batch sizes, batching windows and maximum
concurrency, function timeouts and memory, the sweeper's schedule and stall limit.

``with_parameters`` gives the template with other parameter values (what ``sam deploy
--parameter-overrides`` would), refused when the template's own ``MinValue``/``MaxValue``/
``AllowedValues`` would refuse them: a simulated configuration is always a deployable one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from apihub_local.template import Template


@dataclass(frozen=True)
class QueueTiming:
    logical_id: str
    visibility_timeout_s: int
    delay_s: int = 0
    max_receive_count: int | None = None
    dead_letter_queue: str | None = None  # logical id


@dataclass(frozen=True)
class SourceTiming:
    """One SQS event source mapping."""

    function: str
    queue: str
    batch_size: int
    max_concurrency: int | None
    batching_window_s: int
    report_failures: bool


@dataclass(frozen=True)
class FunctionTiming:
    logical_id: str
    folder: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleTiming:
    function: str
    period_s: int
    expression: str
    input: str | None = None


@dataclass(frozen=True)
class TemplateTiming:
    functions: dict[str, FunctionTiming]
    queues: dict[str, QueueTiming]
    sources: list[SourceTiming]
    schedules: list[ScheduleTiming]
    parameters: dict[str, Any]

    @classmethod
    def read(cls, template: Template) -> TemplateTiming:
        params = template.parameter_defaults()
        glob = template.globals
        functions: dict[str, FunctionTiming] = {}
        sources: list[SourceTiming] = []
        schedules: list[ScheduleTiming] = []
        for logical_id, fn in template.functions().items():
            props = template.resources[logical_id].get("Properties", {})
            env = {k: template.resolve(v, {}, {}) for k, v in fn.environment.items()}
            functions[logical_id] = FunctionTiming(
                logical_id=logical_id,
                folder=fn.folder,
                timeout_s=fn.timeout,
                memory_mb=int(props.get("MemorySize", glob.get("MemorySize", 128))),
                environment={k: str(v) for k, v in env.items()},
            )
            for source in fn.sqs:
                sources.append(
                    SourceTiming(
                        function=logical_id,
                        queue=source.queue,
                        batch_size=source.batch_size,
                        max_concurrency=source.max_concurrency,
                        batching_window_s=source.batching_window,
                        report_failures=source.report_failures,
                    )
                )
            for schedule in fn.schedules:
                expression = str(template.resolve(schedule.get("ScheduleExpression"), {}, {}))
                if not expression.startswith("rate("):
                    continue  # cron schedules (the scheduled imports) are not simulated
                schedules.append(
                    ScheduleTiming(
                        function=logical_id,
                        period_s=rate_seconds(expression),
                        expression=expression,
                        input=schedule.get("Input"),
                    )
                )
        queues: dict[str, QueueTiming] = {}
        for logical_id, res in template.of_type("AWS::SQS::Queue").items():
            props = res.get("Properties", {})
            redrive = props.get("RedrivePolicy") or {}
            target = redrive.get("deadLetterTargetArn")
            queues[logical_id] = QueueTiming(
                logical_id=logical_id,
                visibility_timeout_s=int(template.resolve(props.get("VisibilityTimeout", 30), {}, {})),
                delay_s=int(template.resolve(props.get("DelaySeconds", 0), {}, {})),
                max_receive_count=int(template.resolve(redrive["maxReceiveCount"], {}, {})) if redrive else None,
                dead_letter_queue=target["Fn::GetAtt"][0] if isinstance(target, dict) else None,
            )
        return cls(functions=functions, queues=queues, sources=sources, schedules=schedules, parameters=params)

    def function_by_folder(self, folder: str) -> FunctionTiming:
        return next(f for f in self.functions.values() if f.folder == folder)

    def source_for(self, function: str) -> SourceTiming:
        return next(s for s in self.sources if s.function == function)

    def schedule_for(self, function: str) -> ScheduleTiming:
        return next(s for s in self.schedules if s.function == function)

    @property
    def stall_minutes(self) -> int:
        """The sweeper's stall limit as the sweeper function's environment sets it."""
        sweeper = self.function_by_folder("sweeper")
        return int(sweeper.environment["APIHUB_STALL_MINUTES"])

    def describe(self) -> dict[str, Any]:
        """The figures a report quotes (what the run was driven by)."""
        hydrate = self.source_for(self.function_by_folder("hydrate").logical_id)
        discover = self.source_for(self.function_by_folder("discover").logical_id)
        sweeper = self.schedule_for(self.function_by_folder("sweeper").logical_id)
        return {
            "hydrate_timeout_s": self.functions[hydrate.function].timeout_s,
            "hydrate_batch_size": hydrate.batch_size,
            "hydrate_max_concurrency": hydrate.max_concurrency,
            "hydrate_visibility_s": self.queues[hydrate.queue].visibility_timeout_s,
            "hydrate_max_receive_count": self.queues[hydrate.queue].max_receive_count,
            "discover_timeout_s": self.functions[discover.function].timeout_s,
            "discover_max_concurrency": discover.max_concurrency,
            "discovery_visibility_s": self.queues[discover.queue].visibility_timeout_s,
            "discovery_max_receive_count": self.queues[discover.queue].max_receive_count,
            "sweeper_period_s": sweeper.period_s,
            "stall_minutes": self.stall_minutes,
        }


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    """``rate(5 minutes)`` -> 300."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"schedule {expression!r}: only rate(...) expressions are simulated")
    return int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")]


def with_parameters(template: Template | None = None, **overrides: Any) -> Template:
    """The template with other parameter values; each checked against the parameter's own rules."""
    base = template or Template()
    data = copy.deepcopy(base.data)
    params = data.get("Parameters", {})
    for name, value in overrides.items():
        if name not in params:
            raise ValueError(f"{name}: not a parameter of the template")
        spec = params[name]
        if "MinValue" in spec and float(value) < float(spec["MinValue"]):
            raise ValueError(f"{name}: must be at least {spec['MinValue']} (got {value})")
        if "MaxValue" in spec and float(value) > float(spec["MaxValue"]):
            raise ValueError(f"{name}: must be at most {spec['MaxValue']} (got {value})")
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            raise ValueError(f"{name}: must be one of {spec['AllowedValues']} (got {value})")
        spec["Default"] = value
    return Template(data)
