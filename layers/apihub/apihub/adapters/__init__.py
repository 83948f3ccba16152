"""Supplier adapters: one module per supplier protocol, all behind ``SupplierAdapter``."""
