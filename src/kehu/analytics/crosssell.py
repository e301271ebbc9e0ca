"""What to offer whom: association rules on baskets, and per-customer recommendations of products not yet bought.

- **Rules** (`association_rules`): FP-growth (mlxtend) on the orders' baskets, by product or by category, with
  support (share of baskets holding all the items), confidence (of the baskets with the "if" items, the share that
  also hold the "then" items) and lift (confidence over the "then" items' own support: above 1, bought together
  more often than chance). On a big base the baskets are sampled uniformly (`MAX_BASKETS`): support and confidence
  are shares, which a sample of half a million estimates to a few parts in a thousand.
- **Recommendations** (`ItemToItem`): item-to-item collaborative filtering. Two products are alike when the same
  customers bought both (cosine over the customer × product matrix, each product keeping its `NEIGHBOURS` most
  alike); a customer's score for a product is the sum of its likeness to what they bought. Products they already
  bought are never offered. A customer with nothing to go on (no purchases, or fewer alike products than asked
  for) gets the most popular products instead, so every list is full.
- **Evaluation** (`evaluate`): fitted on the purchases up to a day, both it and popularity alone (the most bought
  products the customer does not have) recommend `n` products to every customer who bought before that day and
  bought something new to them in the `horizon` after; recall@n is the share of those new products in the list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped,unused-ignore]

from kehu.analytics.clv import Array

MAX_BASKETS = 500_000
MIN_BASKETS = 10  # an itemset must be in at least this many baskets, whatever the support asked for
NEIGHBOURS = 50
BATCH = 2_000
ITEM_TO_ITEM = "item-to-item"
POPULARITY = "popularity"


@dataclass(frozen=True)
class Lines:
    """Order lines as arrays: which order, customer, day and product (and the product's category) each is."""

    orders: NDArray[np.int64]
    customers: NDArray[np.int64]
    days: NDArray[np.datetime64]  # datetime64[D]
    products: NDArray[np.int64]
    categories: NDArray[np.str_]

    def before(self, day: dt.date) -> Lines:
        """The lines of orders placed on or before `day`."""
        keep = self.days <= np.datetime64(day, "D")
        return Lines(
            self.orders[keep], self.customers[keep], self.days[keep], self.products[keep], self.categories[keep]
        )


@dataclass(frozen=True)
class Rule:
    antecedent: tuple[str, ...]  # if a basket holds these …
    consequent: tuple[str, ...]  # … it also holds these
    support: float
    confidence: float
    lift: float
    baskets: int  # baskets holding all the items


def association_rules(
    baskets: NDArray[np.int64],
    items: NDArray[np.str_],
    *,
    min_support: float = 0.005,
    min_confidence: float = 0.1,
    max_items: int = 3,
    seed: int = 0,
) -> list[Rule]:
    """Rules among `items` bought in the same basket (`baskets[i]` holds `items[i]`), strongest lift first."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules as mine_rules
    from mlxtend.frequent_patterns import fpgrowth

    basket_ids, rows = np.unique(baskets, return_inverse=True)
    if len(basket_ids) > MAX_BASKETS:
        kept = np.zeros(len(basket_ids), dtype=bool)
        kept[np.random.default_rng(seed).choice(len(basket_ids), MAX_BASKETS, replace=False)] = True
        keep = kept[rows]
        basket_ids, rows = np.unique(baskets[keep], return_inverse=True)
        items = items[keep]
    names, columns = np.unique(items, return_inverse=True)
    total = len(basket_ids)
    if total < MIN_BASKETS or len(names) < 2:
        return []
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, columns)), shape=(total, len(names)), dtype=bool)
    matrix.sum_duplicates()
    frame = pd.DataFrame.sparse.from_spmatrix(matrix, columns=[str(name) for name in names])
    frequent = fpgrowth(frame, min_support=max(min_support, MIN_BASKETS / total), use_colnames=True, max_len=max_items)
    if len(frequent) < 2:
        return []
    found = mine_rules(frequent, num_itemsets=total, metric="confidence", min_threshold=min_confidence)
    rules = [
        Rule(
            antecedent=tuple(sorted(row.antecedents)),
            consequent=tuple(sorted(row.consequents)),
            support=float(row.support),
            confidence=float(row.confidence),
            lift=float(row.lift),
            baskets=round(float(row.support) * total),
        )
        for row in found.itertuples()
    ]
    return sorted(rules, key=lambda rule: (-rule.lift, -rule.confidence, rule.antecedent, rule.consequent))


class ItemToItem:
    """Item-to-item collaborative filtering with a popularity fallback, fitted on who bought what."""

    def __init__(self, customers: NDArray[np.int64], products: NDArray[np.int64], *, neighbours: int = NEIGHBOURS):
        self.customers, rows = np.unique(customers, return_inverse=True)
        self.products, columns = np.unique(products, return_inverse=True)
        bought = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(len(self.customers), len(self.products))
        )
        bought.sum_duplicates()
        bought.data[:] = 1.0  # bought at all, however often
        self.bought = bought
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        self.popularity = buyers / max(len(self.customers), 1)
        norm = sparse.diags(1 / np.sqrt(np.maximum(buyers, 1)))
        scaled = bought @ norm
        alike = (scaled.T @ scaled).tocsr()
        alike.setdiag(0)
        alike.eliminate_zeros()
        self.alike = _keep_strongest(alike, neighbours)

    def _rows(self, customers: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """Each customer's row in the fitted matrix, and whether the model knows them at all."""
        found = np.minimum(np.searchsorted(self.customers, customers), len(self.customers) - 1)
        return found, self.customers[found] == customers

    def recommend(self, customers: NDArray[np.int64], n: int = 10) -> tuple[NDArray[np.int64], Array]:
        """The `n` products to offer each customer (product ids, and scores: likeness summed; popularity share
        scaled below any likeness for the fallback), best first. Unknown customers get the most popular."""
        found, known = self._rows(customers)
        n = min(n, len(self.products))
        chosen = np.zeros((len(customers), n), dtype=np.int64)
        scores = np.zeros((len(customers), n))
        fallback = self.popularity * 1e-6  # ranks the products no likeness reaches, below every one it does
        for start in range(0, len(customers), BATCH):
            part = slice(start, start + BATCH)
            rows = np.where(known[part], found[part], -1)
            history = self.bought[np.maximum(rows, 0)]
            history = sparse.diags((rows >= 0).astype(float)) @ history  # unknown customers: no history
            score = np.asarray((history @ self.alike).todense()) + fallback
            score[history.nonzero()] = -np.inf  # never offer what they have
            top = (
                np.argpartition(-score, n - 1, axis=1)[:, :n]
                if n < score.shape[1]
                else np.tile(np.arange(score.shape[1]), (score.shape[0], 1))
            )
            top_scores = np.take_along_axis(score, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            chosen[part] = self.products[np.take_along_axis(top, order, axis=1)]
            scores[part] = np.take_along_axis(top_scores, order, axis=1)
        return chosen, scores

    def popular(self, customers: NDArray[np.int64], n: int = 10) -> NDArray[np.int64]:
        """Popularity alone: the `n` most bought products each customer does not have."""
        found, known = self._rows(customers)
        ranked = np.argsort(-self.popularity, kind="stable")
        n = min(n, len(self.products))
        chosen = np.zeros((len(customers), n), dtype=np.int64)
        for i, (row, seen) in enumerate(zip(found, known, strict=True)):
            have = set(self.bought.indices[self.bought.indptr[row] : self.bought.indptr[row + 1]]) if seen else set()
            chosen[i] = self.products[[column for column in ranked if column not in have][:n]]
        return chosen


def _keep_strongest(alike: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Each product's `keep` most alike products (by column: what a purchase of the row's product points to)."""
    by_column = alike.tocsc()
    rows, columns, values = [], [], []
    for column in range(by_column.shape[1]):
        start, end = by_column.indptr[column], by_column.indptr[column + 1]
        data = by_column.data[start:end]
        strongest = np.argsort(-data, kind="stable")[:keep]
        rows.append(by_column.indices[start:end][strongest])
        columns.append(np.full(len(strongest), column))
        values.append(data[strongest])
    if not rows:
        return alike
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=alike.shape
    )


@dataclass(frozen=True)
class Evaluation:
    fitted_until: dt.date
    horizon_days: int
    n: int
    customers: int  # customers evaluated: bought before, and bought something new to them after
    recall: dict[str, float]  # model → mean recall@n
    hit_rate: dict[str, float]  # model → share of customers with at least one hit


def evaluate(lines: Lines, fitted_until: dt.date, horizon_days: int, n: int = 10) -> Evaluation | None:
    """Item-to-item against popularity alone, both fitted on the lines up to `fitted_until`, on what each
    customer bought new in the `horizon_days` after. None when nobody bought anything new then."""
    day = np.datetime64(fitted_until, "D")
    past = lines.days <= day
    if not past.any():
        return None
    model = ItemToItem(lines.customers[past], lines.products[past])
    later = ~past & (lines.days <= day + np.timedelta64(horizon_days, "D"))
    had = set(zip(lines.customers[past].tolist(), lines.products[past].tolist(), strict=True))
    known = set(model.customers.tolist())
    new: dict[int, set[int]] = {}
    for customer, product in zip(lines.customers[later].tolist(), lines.products[later].tolist(), strict=True):
        if customer in known and (customer, product) not in had:
            new.setdefault(customer, set()).add(product)
    if not new:
        return None
    who = np.array(sorted(new), dtype=np.int64)
    lists = {ITEM_TO_ITEM: model.recommend(who, n)[0], POPULARITY: model.popular(who, n)}
    recall, hit_rate = {}, {}
    for name, chosen in lists.items():
        hits = np.array([len(new[int(c)] & set(row.tolist())) for c, row in zip(who, chosen, strict=True)])
        wanted = np.array([len(new[int(c)]) for c in who])
        recall[name] = float((hits / wanted).mean())
        hit_rate[name] = float((hits > 0).mean())
    return Evaluation(
        fitted_until=fitted_until, horizon_days=horizon_days, n=n, customers=len(who), recall=recall,
        hit_rate=hit_rate,
    )  # fmt: skip
