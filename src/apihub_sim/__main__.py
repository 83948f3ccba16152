"""``python -m apihub_sim SCENARIO [--size fast|verify] [--seed N] [--json]``: run one timing
scenario of ``apihub_sim.scenarios`` and print its figures."""

from __future__ import annotations

import argparse
import json
import sys

from apihub_sim.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apihub_sim", description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--size", choices=["fast", "verify"], default="fast")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = parser.parse_args(argv)
    kwargs = {"size": args.size} if args.seed is None else {"size": args.size, "seed": args.seed}
    figures = SCENARIOS[args.scenario](**kwargs)
    print(json.dumps(figures.as_dict(), indent=2, default=str) if args.json else figures.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
