"""Figures over time from the purchase log: monthly cohort retention and the repeat rate.

- **Cohorts**: customers grouped by the month of their first purchase; for each later month, the share of the
  cohort who bought in it (month 0 is 100% by definition).
- **Repeat rate**: of the customers who bought in a month, the share who had bought in an earlier month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Cohorts:
    months: list[str]  # the cohorts, "YYYY-MM", oldest first
    sizes: list[int]
    retention: list[list[float | None]]  # [cohort][months after the first] share who bought; None: not yet


@dataclass(frozen=True)
class RepeatRate:
    months: list[str]
    buyers: list[int]
    returning: list[int]  # of those, customers who had bought in an earlier month


def _month_index(days: NDArray[np.datetime64]) -> NDArray[np.int64]:
    return days.astype("datetime64[M]").astype(np.int64)


def _label(index: int) -> str:
    return str(np.datetime64(index, "M"))


def _customer_months(customers: NDArray[np.int64], days: NDArray[np.datetime64]) -> tuple[NDArray, NDArray, NDArray]:
    """Each (customer, month) with a purchase once, and the customer's first month beside it."""
    pairs = np.unique(np.column_stack([customers, _month_index(days)]), axis=0)
    who, month = pairs[:, 0], pairs[:, 1]
    starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])  # pairs are sorted by customer, then month
    first = np.repeat(month[starts], np.diff(np.r_[starts, len(who)]))
    return who, month, first


def cohorts(customers: NDArray[np.int64], days: NDArray[np.datetime64], *, last: int = 12) -> Cohorts:
    """Retention of the `last` monthly cohorts up to the log's last month."""
    if not len(customers):
        return Cohorts([], [], [])
    _who, month, first = _customer_months(customers, days)
    end = int(month.max())
    shown = np.arange(max(int(first.min()), end - last + 1), end + 1)
    grid = np.zeros((len(shown), last), dtype=np.int64)
    keep = (first >= shown[0]) & (month - first < last)
    np.add.at(grid, (first[keep] - shown[0], month[keep] - first[keep]), 1)
    sizes = grid[:, 0]
    retention = [
        [round(float(grid[c, k] / sizes[c]), 4) if sizes[c] and shown[c] + k <= end else None for k in range(last)]
        for c in range(len(shown))
    ]
    return Cohorts([_label(int(m)) for m in shown], sizes.tolist(), retention)


def repeat_rate(customers: NDArray[np.int64], days: NDArray[np.datetime64], *, last: int = 24) -> RepeatRate:
    """Buyers per month and how many of them had bought before, for the `last` months of the log."""
    if not len(customers):
        return RepeatRate([], [], [])
    _who, month, first = _customer_months(customers, days)
    end = int(month.max())
    shown = np.arange(max(int(month.min()), end - last + 1), end + 1)
    inside = month >= shown[0]
    buyers = np.bincount(month[inside] - shown[0], minlength=len(shown))
    returning = np.bincount(month[inside & (month > first)] - shown[0], minlength=len(shown))
    return RepeatRate([_label(int(m)) for m in shown], buyers.tolist(), returning.tolist())
