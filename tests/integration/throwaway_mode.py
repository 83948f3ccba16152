"""A pytest plugin that adds a throwaway mode to the mode table before anything else imports it
(``-p tests.integration.throwaway_mode``): what the request model, the stored supplier and the CLI
build at import then follow the table with the extra row, as they would with a row written in
``apihub/modes/table.py``. Used by ``test_a_new_mode.py`` in a fresh interpreter only."""

from __future__ import annotations

from apihub.modes.fetch import PRODUCT
from apihub.modes.table import MODES, DiscoveryMode, Listing, ModeSpec, Param, Schedule

NAME = "throwaway"
FIELD = "last_throwaway_sync"


def _add_member(name: str) -> DiscoveryMode:
    """A new ``DiscoveryMode`` member, as the class statement would have made it (a str enum)."""
    member = str.__new__(DiscoveryMode, name)
    member._name_ = name
    member._value_ = name
    DiscoveryMode._member_map_[name] = member
    DiscoveryMode._value2member_map_[name] = member
    DiscoveryMode._member_names_.append(name)
    type.__setattr__(DiscoveryMode, name, member)
    return member


MODE = _add_member(NAME)
MODES[MODE] = ModeSpec(
    MODE,
    Listing.stored,
    "the stored products again, for a test",
    explicit_list=Param.optional,
    sets_supplier_field=FIELD,
    schedule=Schedule("ThrowawaySchedule", "rate(1 day)", "daily, for a test"),
    fetches=PRODUCT,
)
