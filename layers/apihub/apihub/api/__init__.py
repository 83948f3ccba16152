"""HTTP layer: one resolver factory, route functions, and the single error-to-HTTP mapping."""
