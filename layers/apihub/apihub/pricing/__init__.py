"""Prices a distributor can quote from (docs/pricing.md).

- ``models``: the stored pricing of one product (PPC 1.0.0's configuration, money as the supplier's
  decimal strings), quote requests and answers, markup rules.
- ``quote``: the quote engine (pure, decimal arithmetic; no AWS, no supplier calls).
- ``markup``: which markup rule applies, and the sell price it gives.
"""
