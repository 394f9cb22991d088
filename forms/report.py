"""The form-optimisation report of a one-thing: how many questions the one-form saves.

Halls publish this figure ("表单优化率 31.69%"): the fields the items would ask separately,
the fields the merged one-form asks, and the share removed, rounded half-up to 2 decimals.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from forms.model import Form


@dataclass(frozen=True)
class Report:
    """Field counts per item, their sum, the merged count, and the reduction."""

    per_item: Mapping[str, int] = field(hash=False)
    total_asked: int
    merged: int
    shared: int  # merged fields asked by two or more askers

    @property
    def removed(self) -> int:
        """Questions the applicant no longer answers twice (never negative)."""
        return max(self.total_asked - self.merged, 0)

    @property
    def reduction_percent(self) -> Decimal:
        """removed / total_asked × 100, rounded half-up to 2 decimals (0.00 for no fields)."""
        if self.total_asked == 0:
            return Decimal("0.00")
        ratio = Decimal(self.removed) * 100 / Decimal(self.total_asked)
        return ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def text(self) -> str:
        """The figure as halls print it, e.g. "表单优化率 22.22%"."""
        return f"表单优化率 {self.reduction_percent}%"

    def to_json(self) -> dict[str, Any]:
        return {
            "items": dict(self.per_item),
            "total_asked": self.total_asked,
            "merged": self.merged,
            "removed": self.removed,
            "shared": self.shared,
            "reduction_percent": float(self.reduction_percent),
            "text": self.text,
        }


def form_report(forms_by_item: Mapping[str, Form], merged: Form) -> Report:
    """The report comparing the items' own application forms with their merged one-form."""
    per_item = {item: len(form.fields) for item, form in forms_by_item.items()}
    return Report(
        per_item=per_item,
        total_asked=sum(per_item.values()),
        merged=len(merged.fields),
        shared=sum(1 for f in merged.fields if len(f.sources) > 1),
    )
