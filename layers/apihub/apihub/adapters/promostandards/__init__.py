"""PromoStandards SOAP adapters (Product Data 2.0.0, Pricing and Configuration 1.0.0, Media Content 1.1.0,
Inventory 2.0.0).

Modules: ``soap`` (envelopes, safe namespace-aware parsing), ``messages`` (ServiceMessage /
ErrorMessage code classification), ``markup`` (HTML descriptions to plain text), ``product``
(getProduct -> canonical Product, discovery lists), ``pricing``, ``media``, ``inventory``
(getInventoryLevels -> canonical Inventory), ``directory`` (company directory endpoint lookup +
cache), ``adapter`` (the two adapter classes).
"""

from apihub.adapters.promostandards.adapter import SANMAR_ENDPOINTS, PromoStandardsAdapter, SanMarAdapter

__all__ = ["SANMAR_ENDPOINTS", "PromoStandardsAdapter", "SanMarAdapter"]
