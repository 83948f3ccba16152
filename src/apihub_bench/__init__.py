"""``make bench``: apihub's performance figures, measured on the local stack (dev only, never in the
Lambda layer). Writes ``bench/results.json`` and ``docs/benchmarks.md``; see the latter."""
