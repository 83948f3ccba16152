"""The job modes (``table``: one row per mode) and what each kind of hydrate work does (``fetch``).

Below the data layer: standard library only, so ``apihub.models``, ``apihub.dal`` and every
function's cold start can import it, and it imports nothing of the layer back."""
