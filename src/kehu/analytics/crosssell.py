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
- **Learnt ranking** (`LearntRanking`): item-to-item's likeness is one of several things known about a customer and
  a product they do not have — how popular it is (in all and lately), how much the customer bought in its
  category and in categories bought alongside it, where its price sits in its category against where the
  customer's purchases sit, how often and how lately the customer buys. Gradient-boosted trees learn from the
  base's own past which of these make a customer buy a product new to them: on `WINDOWS` earlier horizons,
  each the customers as they stood at its start and what they bought new in it. The trees then order each
  customer's candidates (the `CANDIDATES` most alike products and the `POPULAR_CANDIDATES` most bought).
- **Evaluation** (`evaluate`): fitted on the purchases up to a day, item-to-item, the learnt ranking (fitted on
  the horizons before that day only) and popularity alone (the most bought products the customer does not have)
  recommend `n` products to every customer who bought before that day and bought something new to them in the
  `horizon` after; recall@n is the share of those new products in the list. The analytics run offers the lists
  of whichever of item-to-item and the learnt ranking found more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped,unused-ignore]

from kehu.analytics.clv import Array

MAX_BASKETS = 500_000
MIN_BASKETS = 10  # an itemset must be in at least this many baskets, whatever the support asked for
NEIGHBOURS = 50
BATCH = 2_000
ITEM_TO_ITEM = "item-to-item"
LEARNT = "learnt"
POPULARITY = "popularity"
WINDOWS = 6  # earlier horizons the learnt ranking learns from
CANDIDATES = 40  # most alike products per customer that the learnt ranking orders …
POPULAR_CANDIDATES = 20  # … with this many most bought ones
TRAINING_CUSTOMERS = 20_000  # customers sampled per earlier horizon to learn from
MIN_LEARNT_FROM = 50  # new purchases in the earlier horizons below which nothing is learnt


@dataclass(frozen=True)
class Lines:
    """Order lines as arrays: which order, customer, day and product (and the product's category and the unit price
    paid) each is."""

    orders: NDArray[np.int64]
    customers: NDArray[np.int64]
    days: NDArray[np.datetime64]  # datetime64[D]
    products: NDArray[np.int64]
    categories: NDArray[np.str_]
    prices: NDArray[np.float64]

    def before(self, day: dt.date | np.datetime64) -> Lines:
        """The lines of orders placed on or before `day`."""
        keep = self.days <= (day if isinstance(day, np.datetime64) else np.datetime64(day, "D"))
        return Lines(
            self.orders[keep], self.customers[keep], self.days[keep], self.products[keep], self.categories[keep],
            self.prices[keep],
        )  # fmt: skip


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
        for start in range(0, len(customers), BATCH):
            part = slice(start, start + BATCH)
            rows = np.where(known[part], found[part], -1)
            history = self.bought[np.maximum(rows, 0)]
            history = sparse.diags((rows >= 0).astype(float)) @ history  # unknown customers: no history
            _likeness, score = self._scored(history)
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

    def _scored(self, history: sparse.csr_matrix) -> tuple[Array, Array]:
        """For each row of `history` (customers × products bought), every product's likeness to what they bought,
        summed; and the score that ranks them: that likeness with the popularity share scaled below any likeness
        (the fallback for products no likeness reaches), and what they have at -inf (never offered)."""
        likeness = np.asarray((history @ self.alike).todense())
        score = likeness + self.popularity * 1e-6
        score[history.nonzero()] = -np.inf
        return likeness, score

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


# what the learnt ranking knows of a customer and a product they do not have (one column each)
PAIR_FEATURES = (
    "likeness",  # item-to-item: the product's likeness to what the customer bought, summed
    "popularity",  # share of customers who bought it
    "recent_popularity",  # its share of the lines of the last horizon
    "category_lines",  # the customer's lines in its category
    "category_share",  # … as a share of all their lines
    "category_likeness",  # its category's likeness to the categories the customer bought
    "price_position",  # where its price sits among its category's products (0 cheapest … 1 dearest)
    "customer_position",  # where the prices of what the customer bought sat, on average …
    "position_gap",  # … the difference …
    "customer_position_max",  # … and at most
    "orders",  # the customer's orders
    "days_since",  # days since their last order
    "categories",  # categories they bought in
)


class _Standing:
    """Who bought what up to the end of a day, as the learnt ranking reads it: item-to-item fitted on those lines,
    and the customers' and products' numbers behind `PAIR_FEATURES`."""

    def __init__(self, lines: Lines, day: np.datetime64, horizon_days: int) -> None:
        past = lines.before(day)
        self.day = day
        self.model = model = ItemToItem(past.customers, past.products)
        rows = np.searchsorted(model.customers, past.customers)
        columns = np.searchsorted(model.products, past.products)
        n_customers, n_products = len(model.customers), len(model.products)
        recent = past.days > day - np.timedelta64(horizon_days, "D")
        self.recent = np.bincount(columns[recent], minlength=n_products) / max(int(recent.sum()), 1)
        # each product's category (as a code) and price (the median paid), and its place among its category's
        category_names, line_categories = np.unique(past.categories, return_inverse=True)
        self.category = np.zeros(n_products, dtype=np.intp)
        self.category[columns] = line_categories
        price = np.zeros(n_products)
        by_product = np.argsort(columns, kind="stable")
        starts = np.searchsorted(columns[by_product], np.arange(n_products))
        for column, part in enumerate(np.split(past.prices[by_product], starts[1:])):
            price[column] = float(np.median(part)) if len(part) else 0.0
        self.position = np.zeros(n_products)
        for code in range(len(category_names)):
            members = np.flatnonzero(self.category == code)
            ranked = members[np.lexsort((model.products[members], price[members]))]
            self.position[ranked] = (np.arange(len(ranked)) + 0.5) / len(ranked)
        lines_of = np.bincount(rows, minlength=n_customers).astype(float)
        self.lines = lines_of
        self.by_category = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, line_categories)), shape=(n_customers, len(category_names))
        )
        self.by_category.sum_duplicates()
        self.bought_in = bought_in = (self.by_category > 0).astype(float)
        norm = sparse.diags(1 / np.sqrt(np.maximum(np.asarray(bought_in.sum(axis=0)).ravel(), 1)))
        self.category_alike = ((bought_in @ norm).T @ (bought_in @ norm)).toarray()  # categories × categories
        np.fill_diagonal(self.category_alike, 0)
        self.categories = np.asarray(bought_in.sum(axis=1)).ravel()
        self.mean_position = np.bincount(rows, weights=self.position[columns], minlength=n_customers) / np.maximum(
            lines_of, 1
        )
        self.max_position = np.zeros(n_customers)
        np.maximum.at(self.max_position, rows, self.position[columns])
        first_line = np.unique(past.orders, return_index=True)[1]
        self.orders = np.bincount(rows[first_line], minlength=n_customers).astype(float)
        last = np.zeros(n_customers, dtype="datetime64[D]")
        np.maximum.at(last, rows, past.days)
        self.days_since = (day - last).astype(np.float64)

    def candidates(self, rows: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp], Array]:
        """The (customer row, product column) pairs the ranking orders for these customers (rows of the model), and
        their features (`PAIR_FEATURES`)."""
        model = self.model
        likeness, ranked = model._scored(model.bought[rows])
        have = np.isneginf(ranked)
        n_products = likeness.shape[1]
        chosen = np.zeros_like(have)
        alike = min(CANDIDATES, n_products)
        chosen[np.arange(len(rows))[:, None], np.argpartition(-ranked, alike - 1, axis=1)[:, :alike]] = True
        chosen[:, np.argsort(-model.popularity, kind="stable")[:POPULAR_CANDIDATES]] = True
        chosen &= ~have
        at, column = np.nonzero(chosen)
        row = rows[at]
        category = self.category[column]
        category_lines = self.by_category[rows].toarray()[at, category]
        category_likeness = np.asarray(self.bought_in[rows] @ self.category_alike)[at, category]
        features = np.column_stack(
            [
                likeness[at, column],
                model.popularity[column],
                self.recent[column],
                category_lines,
                category_lines / np.maximum(self.lines[row], 1),
                category_likeness,
                self.position[column],
                self.mean_position[row],
                self.position[column] - self.mean_position[row],
                self.max_position[row],
                self.orders[row],
                self.days_since[row],
                self.categories[row],
            ]
        )
        return row, column, features


class LearntRanking:
    """Each customer's candidates ordered by gradient-boosted trees that learnt, from the base's own earlier
    horizons, which customers buy which products new to them (`PAIR_FEATURES`). `fit` returns None when those
    horizons hold too little to learn from; customers who bought nothing by the day get item-to-item's list
    (the most popular products)."""

    def __init__(self, trees: Any, standing: _Standing, learnt_from: int) -> None:
        self.trees = trees
        self.standing = standing
        self.learnt_from = learnt_from  # new purchases in the earlier horizons

    @classmethod
    def fit(cls, lines: Lines, day: dt.date, horizon_days: int, *, seed: int = 0) -> LearntRanking | None:
        """Learnt on the `WINDOWS` horizons before `day` (what customers had at each one's start, what they bought
        new in it), to rank as of `day`."""
        from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped,unused-ignore]

        end = np.datetime64(day, "D")
        rng = np.random.default_rng(seed)
        width = int(lines.products.max()) + 1 if len(lines.products) else 1  # (customer, product) → one integer
        features, labels = [], []
        for back in range(1, WINDOWS + 1):
            start = end - np.timedelta64(back * horizon_days, "D")
            if not (lines.days <= start).any():
                break
            standing = _Standing(lines, start, horizon_days)
            customers = standing.model.customers
            rows = np.arange(len(customers))
            if len(rows) > TRAINING_CUSTOMERS:
                rows = np.sort(rng.choice(rows, TRAINING_CUSTOMERS, replace=False))
            row, column, found = standing.candidates(rows)
            after = (lines.days > start) & (lines.days <= start + np.timedelta64(horizon_days, "D"))
            features.append(found)
            labels.append(np.isin(customers[row] * width + standing.model.products[column],
                                  lines.customers[after] * width + lines.products[after]))  # fmt: skip
        learnt_from = int(sum(label.sum() for label in labels))
        if learnt_from < MIN_LEARNT_FROM:
            return None
        # a slow rate over many rows per leaf, without early stopping's random split (the same base gives the same
        # lists)
        trees = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, min_samples_leaf=100, early_stopping=False, random_state=seed
        )
        trees.fit(np.concatenate(features), np.concatenate(labels))
        return cls(trees, _Standing(lines, end, horizon_days), learnt_from)

    def recommend(self, customers: NDArray[np.int64], n: int = 10) -> tuple[NDArray[np.int64], Array]:
        """The `n` products to offer each customer (product ids, and the trees' probability of buying each), best
        first; a list is shorter where the customer has fewer candidates."""
        model = self.standing.model
        found, known = model._rows(customers)
        chosen = np.full((len(customers), min(n, len(model.products))), -1, dtype=np.int64)
        scores = np.full(chosen.shape, np.nan)
        if not known.all():  # customers without history: item-to-item's list (the most popular)
            chosen[~known], scores[~known] = model.recommend(customers[~known], n)
        at_known = np.flatnonzero(known)
        for start in range(0, len(at_known), BATCH):
            part = at_known[start : start + BATCH]
            rows = found[part]
            row, column, features = self.standing.candidates(rows)
            probability = self.trees.predict_proba(features)[:, 1]
            order = np.lexsort((model.products[column], -probability, row))  # per customer, likeliest first
            row, column, probability = row[order], column[order], probability[order]
            first = np.searchsorted(row, rows)
            last = np.searchsorted(row, rows, side="right")
            for i, (begin, end) in enumerate(zip(first, last, strict=True)):
                take = min(end - begin, n)
                chosen[part[i], :take] = model.products[column[begin : begin + take]]
                scores[part[i], :take] = probability[begin : begin + take]
        return chosen, scores


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
    chosen: str  # ITEM_TO_ITEM or LEARNT: the one whose lists the run offers


def evaluate(lines: Lines, fitted_until: dt.date, horizon_days: int, n: int = 10) -> Evaluation | None:
    """Item-to-item, the learnt ranking (where the horizons before `fitted_until` hold enough to learn from) and
    popularity alone, all fitted on the lines up to `fitted_until`, on what each customer bought new in the
    `horizon_days` after; `chosen` is whichever of the first two found more. None when nobody bought anything
    new then."""
    day = np.datetime64(fitted_until, "D")
    past = lines.days <= day
    if not past.any():
        return None
    later = ~past & (lines.days <= day + np.timedelta64(horizon_days, "D"))
    had = set(zip(lines.customers[past].tolist(), lines.products[past].tolist(), strict=True))
    known = set(lines.customers[past].tolist())  # the customers the models know: those with a line by then
    new: dict[int, set[int]] = {}
    for customer, product in zip(lines.customers[later].tolist(), lines.products[later].tolist(), strict=True):
        if customer in known and (customer, product) not in had:
            new.setdefault(customer, set()).add(product)
    if not new:
        return None  # before fitting anything: nothing to measure the models on
    learnt = LearntRanking.fit(lines, fitted_until, horizon_days)
    # the learnt ranking's standing on that day holds the same item-to-item fit
    model = learnt.standing.model if learnt is not None else ItemToItem(lines.customers[past], lines.products[past])
    who = np.array(sorted(new), dtype=np.int64)
    lists = {ITEM_TO_ITEM: model.recommend(who, n)[0]}
    if learnt is not None:
        lists[LEARNT] = learnt.recommend(who, n)[0]
    lists[POPULARITY] = model.popular(who, n)
    recall, hit_rate = {}, {}
    for name, chosen in lists.items():
        hits = np.array([len(new[int(c)] & set(row.tolist())) for c, row in zip(who, chosen, strict=True)])
        wanted = np.array([len(new[int(c)]) for c in who])
        recall[name] = float((hits / wanted).mean())
        hit_rate[name] = float((hits > 0).mean())
    return Evaluation(
        fitted_until=fitted_until, horizon_days=horizon_days, n=n, customers=len(who), recall=recall,
        hit_rate=hit_rate, chosen=LEARNT if recall.get(LEARNT, -1.0) > recall[ITEM_TO_ITEM] else ITEM_TO_ITEM,
    )  # fmt: skip
