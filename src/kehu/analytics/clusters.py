"""Customer groups found in the data (k-means) and rules a person can read (a decision tree).

- **Clusters** (`cluster`): the buyers' features — recency, orders, spend, average order value, tenure, categories,
  refund rate, contacts — skewed ones on a log scale, all standardised, grouped by k-means. k is the one with the
  best silhouette from 2 to 8 (or the one asked for); on a big base k-means is fitted on a sample of
  `FIT_ROWS` and every customer assigned to the nearest centre. Each cluster is described by what sets it apart:
  the features whose cluster mean lies furthest from the base's (in standard deviations), as words ("recent",
  "big spenders") that the page translates.
- **Rules** (`churn_rules`): a shallow decision tree on who did not buy again within the horizon, read out leaf by
  leaf: "days since the last purchase > 120 and repeat purchases ≤ 2 → 78% did not buy again (412 customers)".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from numpy.typing import NDArray
from sklearn.cluster import KMeans  # type: ignore[import-untyped,unused-ignore]
from sklearn.metrics import silhouette_score  # type: ignore[import-untyped,unused-ignore]
from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped,unused-ignore]

from kehu.analytics.clv import Array

K_RANGE = range(2, 9)
FIT_ROWS = 50_000
SILHOUETTE_ROWS = 5_000
APART = 0.5  # a cluster mean this many standard deviations from the base's is worth naming
NAMED = 2  # words per cluster name

# feature, whether it is counted on a log scale, words for a cluster well above and well below the average
CLUSTER_FEATURES: tuple[tuple[str, bool, str, str], ...] = (
    ("recency_days", False, "lapsed", "recent"),
    ("orders", True, "frequent", "one_off"),
    ("revenue", True, "big_spenders", "small_spenders"),
    ("average_order_value", True, "large_baskets", "small_baskets"),
    ("tenure_days", False, "long_standing", "newcomers"),
    ("categories", True, "broad_tastes", "single_category"),
    ("refund_rate", False, "refunders", "no_refunds"),
    ("contacts", True, "often_in_touch", "rarely_in_touch"),
)
FEATURE_NAMES = {
    "recency_days": _("Days since last purchase"),
    "orders": _("Orders"),
    "revenue": _("Spend"),
    "average_order_value": _("Average order value"),
    "tenure_days": _("Days as a customer"),
    "categories": _("Categories"),
    "refund_rate": _("Refund rate"),
    "contacts": _("Contacts"),
}
WORDS = {
    "lapsed": _("lapsed"),
    "recent": _("recent buyers"),
    "frequent": _("frequent buyers"),
    "one_off": _("one-off buyers"),
    "big_spenders": _("big spenders"),
    "small_spenders": _("small spenders"),
    "large_baskets": _("large baskets"),
    "small_baskets": _("small baskets"),
    "long_standing": _("long-standing"),
    "newcomers": _("newcomers"),
    "broad_tastes": _("broad tastes"),
    "single_category": _("one category"),
    "refunders": _("often refund"),
    "no_refunds": _("rarely refund"),
    "often_in_touch": _("often in touch"),
    "rarely_in_touch": _("rarely in touch"),
    "typical": _("typical buyers"),
}


@dataclass(frozen=True)
class Clustering:
    k: int
    labels: NDArray[np.int64]  # cluster of each row, 0 the largest
    silhouette: dict[int, float]  # k tried → silhouette on the sample
    centres: Array  # k × features, in standard deviations from the base's mean
    sizes: list[int]
    words: list[list[str]]  # per cluster, the words naming it (keys of WORDS)


def _scaled(columns: dict[str, Array]) -> Array:
    matrix = np.column_stack(
        [
            np.log1p(np.maximum(np.nan_to_num(columns[name]), 0)) if logged else np.nan_to_num(columns[name])
            for name, logged, _high, _low in CLUSTER_FEATURES
        ]
    ).astype(np.float64)
    spread = matrix.std(axis=0)
    return (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1)


def cluster(columns: dict[str, Array], *, k: int | None = None, seed: int = 0) -> Clustering | None:
    """Clusters of the rows in `columns` (feature name → one value per customer). None with too few rows."""
    scaled = _scaled(columns)
    rows = len(scaled)
    if rows < 2 * max(K_RANGE.start, k or 0) or rows < 20:
        return None
    rng = np.random.default_rng(seed)
    fit = scaled[rng.choice(rows, FIT_ROWS, replace=False)] if rows > FIT_ROWS else scaled
    judged = rng.choice(len(fit), SILHOUETTE_ROWS, replace=False) if len(fit) > SILHOUETTE_ROWS else slice(None)
    candidates = [k] if k else [c for c in K_RANGE if c < len(fit)]
    models, silhouette = {}, {}
    for tried in candidates:
        model = KMeans(n_clusters=tried, n_init=4, random_state=seed).fit(fit)
        models[tried] = model
        labels = model.labels_[judged]
        if len(set(labels.tolist())) > 1:
            silhouette[tried] = float(silhouette_score(fit[judged], labels))
    chosen = k or max(silhouette, key=lambda c: (silhouette[c], -c))
    model = models[chosen]
    raw = model.predict(scaled)
    # number the clusters by size, largest first
    order = np.argsort(-np.bincount(raw, minlength=chosen), kind="stable")
    renumber = np.empty(chosen, dtype=np.int64)
    renumber[order] = np.arange(chosen)
    labels = renumber[raw]
    centres = np.vstack([scaled[labels == c].mean(axis=0) for c in range(chosen)])
    words = []
    for centre in centres:
        apart = [i for i in np.argsort(-np.abs(centre), kind="stable") if abs(centre[i]) >= APART][:NAMED]
        words.append(
            [CLUSTER_FEATURES[i][2] if centre[i] > 0 else CLUSTER_FEATURES[i][3] for i in apart] or ["typical"]
        )
    return Clustering(
        k=chosen,
        labels=labels,
        silhouette={c: round(v, 4) for c, v in silhouette.items()},
        centres=centres,
        sizes=np.bincount(labels, minlength=chosen).tolist(),
        words=words,
    )


# ---- rules a person can read ----

READABLE = (  # the buy-again snapshot's features a person can reason about (not the BG/NBD probabilities)
    gettext_noop("repeat purchases"),
    gettext_noop("days since the last purchase"),
    gettext_noop("days since the first purchase"),
    gettext_noop("total spent"),
    gettext_noop("purchases in the last 90 days"),
    gettext_noop("refund rate"),
    gettext_noop("overdue rate"),
    gettext_noop("categories bought"),
    gettext_noop("contacts in the last 90 days"),
)  # days since the last contact and satisfaction are left out: unknown for many, and a rule cannot say so
TREE_DEPTH = 3
LEAF_SHARE = 0.05  # a leaf holds at least this share of the customers (and 20)


@dataclass(frozen=True)
class TreeRule:
    conditions: list[tuple[str, str, float]]  # (feature, "<=" or ">", threshold)
    customers: int
    share: float  # of the leaf's customers, the share who did not buy again


def _narrowed(path: list[tuple[str, str, float]], condition: tuple[str, str, float]) -> list[tuple[str, str, float]]:
    """The path with one more condition; one on a feature and side already there replaces it (the tighter)."""
    feature, op, _threshold = condition
    return [kept for kept in path if (kept[0], kept[1]) != (feature, op)] + [condition]


def churn_rules(X: Array, names: tuple[str, ...], bought: NDArray[np.bool_]) -> list[TreeRule]:
    """A shallow tree on who did not buy, read out leaf by leaf, the leaves most likely not to buy first."""
    keep = [i for i, name in enumerate(names) if name in READABLE]
    if len(bought) < 40 or bought.all() or not bought.any():
        return []
    used = [names[i] for i in keep]
    tree = DecisionTreeClassifier(
        max_depth=TREE_DEPTH, min_samples_leaf=max(20, int(LEAF_SHARE * len(bought))), random_state=0
    ).fit(np.nan_to_num(X[:, keep]), ~bought)
    structure = tree.tree_
    rules: list[TreeRule] = []

    def walk(node: int, path: list[tuple[str, str, float]]) -> None:
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            counts = structure.value[node][0] * structure.weighted_n_node_samples[node]
            churned = counts[list(tree.classes_).index(True)] if True in tree.classes_ else 0.0
            customers = int(structure.n_node_samples[node])
            rules.append(TreeRule(conditions=path, customers=customers, share=float(churned / customers)))
            return
        feature, threshold = used[structure.feature[node]], float(structure.threshold[node])
        walk(left, _narrowed(path, (feature, "<=", threshold)))
        walk(right, _narrowed(path, (feature, ">", threshold)))

    walk(0, [])
    return sorted(rules, key=lambda rule: (-rule.share, -rule.customers))
