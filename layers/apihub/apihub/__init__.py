"""apihub: supplier catalog imports tracked as sync jobs (domain package, shipped as a Lambda layer)."""
