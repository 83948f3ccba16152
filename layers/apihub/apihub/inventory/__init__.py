"""Stock levels (issue 14): the canonical inventory an adapter reads, how it is stored and read."""
