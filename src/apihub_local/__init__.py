"""The local stack: apihub's template, functions and queues on one machine with no AWS account.
Dev-only (never in the deployed layer). Tests use the same pieces in-process."""
