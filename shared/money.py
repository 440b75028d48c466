"""Money is kept in integer cents so sums are exact; only what people read shows dollars."""

from __future__ import annotations


def format_dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
