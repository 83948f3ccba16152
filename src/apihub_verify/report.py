"""``python -m apihub_verify.report [--dir build/verify] [--out docs/reliability.md]``

Renders the figures the verification suites recorded (``apihub_verify.record``, one JSON file per
part) as ``docs/reliability.md``: per suite, the examples or requests run, the faults injected by
kind, the failures found, and the command that produced them. Suites it has no file for are not
mentioned; a suite added later only has to call ``record``. Whatever follows ``HAND_WRITTEN`` in the
existing file (how the faults are made, written by hand) is kept at the end of the new one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("build/verify")
DEFAULT_OUT = Path("docs/reliability.md")
HAND_WRITTEN = "<!-- Written by hand from here on: python -m apihub_verify.report keeps it as it is. -->"


def hand_written(existing: str) -> str:
    """The part of an earlier report from the ``HAND_WRITTEN`` marker on (empty if there is none)."""
    at = existing.find(HAND_WRITTEN)
    return existing[at:] if at >= 0 else ""


def load(directory: Path) -> dict[str, list[dict[str, Any]]]:
    suites: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        suites[data["suite"]].append(data)
    return dict(suites)


def summarize(parts: list[dict[str, Any]]) -> dict[str, Any]:
    faults: Counter[str] = Counter()
    for part in parts:
        faults.update(part.get("faults") or {})
    commands = list(dict.fromkeys(p.get("command") or "" for p in parts if p.get("command")))
    return {
        "title": parts[0].get("title") or parts[0]["suite"],
        "examples": sum(int(p.get("examples") or 0) for p in parts),
        "requests": sum(int(p.get("requests") or 0) for p in parts),
        "faults": faults,
        "failures": sum(int(p.get("failures") or 0) for p in parts),
        "commands": commands,
        "parts": parts,
    }


def render(
    suites: dict[str, list[dict[str, Any]]],
    command: str,
    generated: datetime | None = None,
    notes: list[str] | None = None,
) -> str:
    generated = generated or datetime.now(UTC)
    summaries = {name: summarize(parts) for name, parts in sorted(suites.items())}
    total_failures = sum(s["failures"] for s in summaries.values())
    lines = [
        "# Reliability figures",
        "",
        "What the verification suites ran and found, written by `make verify` "
        "(`python -m apihub_verify.report` over the figures the suites record). Do not edit the figures by hand:",
        "run the command again. The sections after them, from the marker on, are written by hand and kept.",
        "",
        f"- Command: `{command}`",
        f"- Generated: {generated.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Failures found: **{total_failures}**",
        *[f"- Note: {note}" for note in notes or []],
        "",
        "| suite | examples / runs | requests | faults injected | failures |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in summaries.values():
        lines.append(
            f"| {s['title']} | {s['examples']:,} | {s['requests']:,} | {sum(s['faults'].values()):,} | {s['failures']} |"
        )
    for name, s in summaries.items():
        lines += ["", f"## {s['title']}", ""]
        if s["faults"]:
            lines += ["| fault | count |", "| --- | ---: |"]
            lines += [f"| {kind} | {count:,} |" for kind, count in sorted(s["faults"].items())]
            lines.append("")
        for part in sorted(s["parts"], key=lambda p: p.get("part", "")):
            detail = [f"{int(part.get('examples') or 0):,} examples/runs"]
            if part.get("requests"):
                detail.append(f"{int(part['requests']):,} requests")
            detail.append(f"{int(part.get('failures') or 0)} failures")
            part_notes = "; ".join(part.get("notes") or [])
            lines.append(
                f"- `{part.get('part', name)}`: {', '.join(detail)}" + (f" ({part_notes})" if part_notes else "")
            )
        if s["commands"] and s["commands"] != [command]:
            lines += ["", "Produced by: " + ", ".join(f"`{c}`" for c in s["commands"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_verify.report", description=__doc__)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the suites wrote their JSON figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--command", default="make verify", help="the command quoted in the report")
    parser.add_argument("--note", action="append", default=[], help="a line for the report's header (repeatable)")
    args = parser.parse_args(argv)
    suites = load(args.dir) if args.dir.is_dir() else {}
    if not suites:
        print(f"no figures in {args.dir}", file=sys.stderr)
        return 1
    kept = hand_written(args.out.read_text()) if args.out.is_file() else ""
    args.out.write_text(render(suites, args.command, notes=args.note) + ("\n" + kept if kept else ""))
    failures = sum(summarize(parts)["failures"] for parts in suites.values())
    print(f"wrote {args.out}: {len(suites)} suite(s), {failures} failure(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
