"""Sync-job rules: starting imports, retries, patches (no AWS event shapes here)."""
