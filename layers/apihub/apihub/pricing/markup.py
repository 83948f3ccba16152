"""Markup rules: which rule applies to a product, and the sell price it gives (docs/pricing.md).

The most specific matching rule wins: product > category > supplier > all. Rules of the same scope
that all match (two categories of one product, say) are ordered by ``rule_id``, so the answer never
depends on the order rules were read in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from apihub.pricing.models import MarkupRule, Quote, Sell

_SPECIFICITY = {"product": 3, "category": 2, "supplier": 1, "all": 0}
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
_NINETY_NINE = Decimal("0.99")


def matching_rule(
    rules: Iterable[MarkupRule], *, supplier_id: str, product_id: str, categories: Sequence[str] = ()
) -> MarkupRule | None:
    """The rule that prices this product, or None when no rule matches."""
    folded = {category.casefold() for category in categories}

    def matches(rule: MarkupRule) -> bool:
        if rule.scope == "all":
            return True
        if rule.scope == "supplier":
            return rule.supplier_id == supplier_id
        if rule.scope == "category":
            return (rule.category or "").casefold() in folded
        return rule.supplier_id == supplier_id and rule.product_id == product_id

    found = [rule for rule in rules if matches(rule)]
    if not found:
        return None
    return min(found, key=lambda rule: (-_SPECIFICITY[rule.scope], rule.rule_id))


def sell_unit(cost: Decimal, rule: MarkupRule) -> Decimal:
    """Cost per unit -> sell price per unit in cents.

    cost x (1 + markup_pct/100), raised to cost / (1 - min_margin_pct/100) when that margin is not
    met, then rounded up: to the next x.99 (``up_99``), the next whole unit (``up_whole``) or the
    next cent (``none``). Every step only ever raises the price, so the sell price is never below
    cost and never below the minimum margin.
    """
    price = cost * (1 + rule.markup_pct / _HUNDRED)
    if rule.min_margin_pct is not None:
        floor = cost / (1 - rule.min_margin_pct / _HUNDRED)
        price = max(price, floor)
    if rule.rounding == "up_whole":
        return price.quantize(Decimal(1), rounding=ROUND_CEILING).quantize(_CENT)
    if rule.rounding == "up_99":
        candidate = price.quantize(Decimal(1), rounding=ROUND_FLOOR) + _NINETY_NINE
        return candidate if candidate >= price else candidate + 1
    return price.quantize(_CENT, rounding=ROUND_CEILING)


def sell(quote: Quote, rule: MarkupRule) -> Sell:
    """The quote's sell side. The cost per unit is the exact total / quantity (``unit_total`` is its
    rounded display), so a sell total is never below the cost total."""
    unit = sell_unit(Decimal(quote.total) / quote.quantity, rule)
    return Sell(rule_id=rule.rule_id, unit_total=str(unit), total=str(unit * quote.quantity))
