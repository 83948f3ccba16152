"""A black-box smoke test of a running apihub: ``python -m apihub_smoke`` (``make smoke``)."""
