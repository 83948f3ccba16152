"""The ``apihub`` command line: a thin client of the HTTP API (plus ``token create``, which writes
to the tokens table directly). Dev tool, never in the deployed layer."""
