"""Customer lifetime value: BG/NBD for how often a customer buys again, Gamma-Gamma for how much they spend.

BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while alive a customer buys at a
rate λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma (Fader,
Hardie & Lee 2005, "RFM and CLV"): a customer's purchase values scatter around their own mean, which varies
across customers as Gamma(q, v) scaled by p. Both are fitted by maximum likelihood with SciPy (L-BFGS-B in
log-parameters, so every parameter stays positive) on each customer's calibration summary: repeat purchases
`frequency`, time of the last one since the first `recency`, age `T`, and mean repeat purchase value.

The log-likelihoods are written in log space throughout (log-gamma, log-beta, a log-sum-exp for the two ways a
customer can have been last seen), with their analytic gradients; customers with the same summary are counted
once with a weight, so a million customers cost what their distinct summaries cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special  # type: ignore[import-untyped,unused-ignore]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Summary:
    """Each customer's calibration summary (times in `unit_days`-day units) and, when known, their holdout."""

    customers: NDArray[np.int64]
    frequency: Array  # repeat purchases: days with a purchase after the first
    recency: Array  # from the first purchase to the last
    T: Array  # from the first purchase to the end of calibration
    monetary: Array  # mean value of the repeat purchases (0 without any)
    holdout: Array  # days with a purchase after calibration, up to the holdout's end (0 without a holdout)
    holdout_length: float  # in units
    unit_days: float


def summarise(
    customers: Sequence[int] | NDArray[np.int64],
    dates: Sequence[dt.date] | NDArray[np.datetime64],
    amounts: Sequence[float] | Array,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None = None,
    unit_days: float = 7.0,
    period_days: int = 1,
) -> Summary:
    """The summary of a purchase log: one row per purchase (customer, date, amount), in any order.

    Purchases on one day are one purchase (their amounts added), as in the literature; with `period_days` 7,
    purchases in one calendar week (Monday to Sunday) are, as `lifetimes` counts with `freq="W"`.
    Customers whose first purchase falls after `calibration_end` are left out; purchases after `holdout_end`
    are ignored.
    """
    ids = np.asarray(customers, dtype=np.int64)
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    values = np.asarray(amounts, dtype=np.float64)
    end = np.datetime64(calibration_end, "D").astype(np.int64)
    last = np.datetime64(holdout_end, "D").astype(np.int64) if holdout_end else end
    keep = days <= last
    ids, days, values = ids[keep], days[keep], values[keep]
    if period_days > 1 and len(days):
        # periods of calendar weeks (Monday to Sunday; 1970-01-01 was a Thursday) or runs of days from the first
        # day of the log; a holdout purchase stays in the holdout even when its period began before the
        # calibration ended
        origin = np.int64(-3) if period_days == 7 else days.min()
        floored = origin + (days - origin) // period_days * period_days
        days = np.where(days > end, np.maximum(floored, end + 1), floored)
        # ages and the holdout's length in whole periods too
        since = origin + (end - origin) // period_days * period_days
        horizon = origin + (last - origin) // period_days * period_days - since
    else:
        since, horizon = end, last - end
    # one purchase per customer and day (or period)
    order = np.lexsort((days, ids))
    ids, days, values = ids[order], days[order], values[order]
    new_day = np.ones(len(ids), dtype=bool)
    new_day[1:] = (ids[1:] != ids[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new_day)
    ids, days, values = ids[starts], days[starts], np.add.reduceat(values, starts) if len(starts) else values[:0]
    customer_ids, first_index, per_customer = np.unique(ids, return_index=True, return_counts=True)
    first = days[first_index]
    kept = first <= end
    calibration = days <= end
    owner = np.repeat(np.arange(len(customer_ids)), per_customer)
    purchases = np.bincount(owner, weights=calibration, minlength=len(customer_ids))
    spent = np.bincount(owner, weights=np.where(calibration, values, 0.0), minlength=len(customer_ids))
    last_day = np.full(len(customer_ids), np.iinfo(np.int64).min)
    np.maximum.at(last_day, owner[calibration], days[calibration])
    first_value = values[first_index]
    holdout = np.bincount(owner, weights=~calibration, minlength=len(customer_ids))
    frequency = purchases - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (spent - first_value) / np.maximum(frequency, 1), 0.0)
    return Summary(
        customers=customer_ids[kept],
        frequency=frequency[kept].astype(np.float64),
        recency=((last_day - first) / unit_days)[kept].astype(np.float64),
        T=((since - first) / unit_days)[kept].astype(np.float64),
        monetary=monetary[kept],
        holdout=holdout[kept].astype(np.float64),
        holdout_length=float(horizon) / unit_days,
        unit_days=unit_days,
    )


def _compressed(*columns: Array) -> tuple[list[Array], Array]:
    """The distinct rows of `columns` and how many customers each stands for (sorted, then cut where a value
    changes: several times faster than `np.unique(axis=0)` on a million rows)."""
    count = len(columns[0])
    order = np.lexsort(columns[::-1])
    ordered = [column[order] for column in columns]
    new = np.ones(count, dtype=bool)
    if count > 1:
        new[1:] = np.logical_or.reduce([column[1:] != column[:-1] for column in ordered])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, count)).astype(np.float64)
    return [column[starts] for column in ordered], counts


def _fit(negative: object, start: Array, names: tuple[str, ...]) -> tuple[dict[str, float], float, int]:
    result = optimize.minimize(negative, np.log(start), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    if not result.success and "ABNORMAL" not in str(result.message):  # a line search at the optimum's precision
        raise FitError(f"the fit did not converge: {result.message}")
    return dict(zip(names, np.exp(result.x).tolist(), strict=True)), float(result.fun), int(result.nit)


class FitError(ValueError):
    """The data cannot be fitted (no repeat purchases, too few customers) or the optimiser did not converge."""


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = 0.0  # per customer
    iterations: int = 0

    @classmethod
    def fit(cls, frequency: Array, recency: Array, T: Array) -> BgNbd:
        if len(frequency) < 2 or not np.any(frequency > 0):
            raise FitError("BG/NBD needs customers, some of whom bought more than once")
        (x, t_x, age), weight = _compressed(frequency, recency, T)
        total = weight.sum()

        def negative(log_params: Array) -> tuple[float, Array]:
            params = np.exp(log_params)
            ll, gradient = bgnbd_log_likelihood(params, x, t_x, age)
            # chain rule through the log-parameters: d/dlog(θ) = θ · d/dθ
            return -float(weight @ ll) / total, -(gradient @ weight) * params / total

        fitted, nll, iterations = _fit(negative, np.ones(4), ("r", "alpha", "a", "b"))
        return cls(**fitted, log_likelihood=-nll, iterations=iterations)

    def _alive_odds_log(self, x: Array, t_x: Array, T: Array) -> Array:
        """log of a/(b+x-1) · ((α+T)/(α+t_x))^(r+x): the odds of having dropped out; -inf for no repeat."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(x > 0, odds, -np.inf)

    def probability_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        return np.asarray(special.expit(-self._alive_odds_log(x, t_x, T)), dtype=np.float64)

    def probability_buying(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        """Probability of at least one purchase in the next `t` units.

        A customer only drops out right after a purchase, so one who is alive now and buys nothing in `t` is
        still alive: given alive, λ ~ Gamma(r + x, α + T) and no purchase has probability ((α+T)/(α+T+t))^(r+x).
        """
        t = np.asarray(t, dtype=np.float64)
        none = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return np.asarray(self.probability_alive(x, t_x, T) * (1 - none), dtype=np.float64)

    def expected_purchases(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        """Expected purchases in the next `t` units of a customer with summary (x, t_x, T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + T + t)
        hyper = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        head = (a + b + x - 1) / (a - 1) * (1 - ratio * hyper)
        return np.asarray(head * special.expit(-self._alive_odds_log(x, t_x, T)), dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def bgnbd_log_likelihood(params: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array]:
    """Each customer's BG/NBD log-likelihood and its gradient (4 × customers) in (r, α, a, b)."""
    r, alpha, a, b = params
    repeat = x > 0
    base = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    beta_ab = special.betaln(a, b)
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    A = special.betaln(a, b + x) - beta_ab - (r + x) * log_alpha_T
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(repeat, special.betaln(a + 1, np.where(repeat, b + x - 1, 1.0)) - beta_ab, -np.inf)
    C = C - (r + x) * log_alpha_tx
    mixed = np.logaddexp(A, C)
    weight_a = np.exp(A - mixed)
    weight_c = np.exp(C - mixed)  # 0 for customers without a repeat purchase
    psi = special.digamma
    psi_ab, psi_abx = psi(a + b), psi(a + b + x)
    gradient = np.empty((4, len(x)))
    gradient[0] = psi(r + x) - psi(r) + np.log(alpha) - weight_a * log_alpha_T - weight_c * log_alpha_tx
    gradient[1] = r / alpha - (r + x) * (weight_a / (alpha + T) + weight_c / (alpha + t_x))
    gradient[2] = weight_a * (psi_ab - psi_abx) + weight_c * (psi(a + 1) - psi_abx - psi(a) + psi_ab)
    b_c = np.where(repeat, psi(np.where(repeat, b + x - 1, 1.0)), 0.0)
    gradient[3] = weight_a * (psi(b + x) - psi_abx - psi(b) + psi_ab) + weight_c * (b_c - psi_abx - psi(b) + psi_ab)
    return base + mixed, gradient


# a class whose purchase rates barely vary (r → ∞ at a fixed mean r/α) is held at this r: the likelihood is flat
# beyond it, and the hypergeometric function of the expectation overflows far beyond it
LATENT_MAX_R = 1_000.0
LATENT_STARTS = 8  # starting points of the two-class fit (the likelihood of a mixture has several optima)
LATENT_EXTRA_PARAMETERS = 5  # four for the second class, one for the share


@dataclass(frozen=True)
class LatentBgNbd:
    """BG/NBD with two latent classes of customers, each with its own (r, α, a, b), in shares `weights`.

    A customer's class is not known; what they did tells how likely each is (the posterior, by Bayes from the
    two likelihoods), and every prediction is the two classes' predictions weighed by it — the law of total
    expectation, so expectations and probabilities stay what they say. On CDNOW one class of about a tenth of the
    customers buys at an almost common, higher rate and the rest like a BG/NBD population: heavy buyers are
    predicted higher and the many one-off buyers lower than one class can."""

    classes: tuple[BgNbd, BgNbd]
    weights: tuple[float, float]
    log_likelihood: float = 0.0  # per customer
    iterations: int = 0

    @classmethod
    def fit(cls, frequency: Array, recency: Array, T: Array, *, start: BgNbd | None = None) -> LatentBgNbd:
        """Maximum likelihood from `LATENT_STARTS` starting points: the first class at one-class BG/NBD's fit
        (`start`) and the second as steady buyers at three drop-out levels, then both spread around BG/NBD's fit
        by a fixed seed, so that the fit is the same every time. The best finite optimum is kept."""
        if len(frequency) < 2 or not np.any(frequency > 0):
            raise FitError("BG/NBD needs customers, some of whom bought more than once")
        one = start or BgNbd.fit(frequency, recency, T)
        (x, t_x, age), weight = _compressed(frequency, recency, T)
        total = weight.sum()

        def negative(v: Array) -> tuple[float, Array]:
            ll, gradient = latent_bgnbd_log_likelihood(v, x, t_x, age, weight)
            return -ll / total, -gradient / total

        log_one = np.log([one.r, one.alpha, one.a, one.b])
        rng = np.random.default_rng(7)
        bounds = [(-12.0, float(np.log(LATENT_MAX_R))), (-12.0, 20.0), (-12.0, 12.0), (-12.0, 12.0)] * 2
        bounds.append((-12.0, 12.0))
        best = None
        # a second class of steady buyers (rates alike: large r) at the repeat buyers' mean rate, then random ones
        repeat = frequency > 0
        rate = float(np.sum(frequency[repeat]) / max(np.sum(T[repeat]), 1e-9))
        steady = [
            np.log([LATENT_MAX_R / 10, LATENT_MAX_R / 10 / rate, one.a * drop, one.b]) for drop in (4.0, 1.0, 0.25)
        ]
        for attempt in range(LATENT_STARTS):
            first = log_one + (0.0 if attempt < len(steady) else rng.normal(0.0, 0.5, 4))
            second = steady[attempt] if attempt < len(steady) else log_one + rng.normal(0.0, 1.5, 4)
            share = np.log(9.0) if attempt < len(steady) else rng.normal(1.0, 1.0)
            begin = np.clip(np.concatenate([first, second, [share]]), -11.0, 11.0)
            begin[[0, 4]] = np.minimum(begin[[0, 4]], np.log(LATENT_MAX_R) - 0.5)
            result = optimize.minimize(
                negative, begin, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 3000}
            )
            if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                best = result
        if best is None:
            raise FitError("the two-class fit found no finite likelihood")
        params = np.exp(best.x[:8].reshape(2, 4))
        share = float(special.expit(best.x[8]))
        classes = [BgNbd(r=float(p[0]), alpha=float(p[1]), a=float(p[2]), b=float(p[3])) for p in params]
        # the larger class first, so that the same population reads the same whichever start found it
        order = (0, 1) if share >= 0.5 else (1, 0)
        shares = (share, 1.0 - share)
        return cls(
            classes=(classes[order[0]], classes[order[1]]),
            weights=(shares[order[0]], shares[order[1]]),
            log_likelihood=-float(best.fun),
            iterations=int(best.nit),
        )

    def posterior(self, x: Array, t_x: Array, T: Array) -> Array:
        """2 × customers: how likely each class is for each customer, given what they did."""
        joint = np.array(
            [
                bgnbd_log_likelihood(np.array([c.r, c.alpha, c.a, c.b]), x, t_x, T)[0] + np.log(w)
                for c, w in zip(self.classes, self.weights, strict=True)
            ]
        )
        return np.asarray(np.exp(joint - np.logaddexp(joint[0], joint[1])), dtype=np.float64)

    def _weighed(self, values: list[Array], x: Array, t_x: Array, T: Array) -> Array:
        """The classes' `values` (each customers last, with any leading axes: several horizons at once) weighed
        by the posterior."""
        stacked = np.array(values)
        posterior = self.posterior(x, t_x, T)
        posterior = posterior.reshape((2,) + (1,) * (stacked.ndim - 2) + posterior.shape[1:])
        return np.asarray((posterior * stacked).sum(axis=0), dtype=np.float64)

    def probability_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        return self._weighed([c.probability_alive(x, t_x, T) for c in self.classes], x, t_x, T)

    def probability_buying(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        return self._weighed([c.probability_buying(t, x, t_x, T) for c in self.classes], x, t_x, T)

    def expected_purchases(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        return self._weighed([c.expected_purchases(t, x, t_x, T) for c in self.classes], x, t_x, T)

    def as_dict(self) -> dict[str, float]:
        out = {}
        for number, (c, w) in enumerate(zip(self.classes, self.weights, strict=True), start=1):
            out[f"share{number}"] = w
            out.update({f"{name}{number}": value for name, value in c.as_dict().items()})
        return out


def latent_bgnbd_log_likelihood(v: Array, x: Array, t_x: Array, T: Array, weight: Array) -> tuple[float, Array]:
    """The two-class log-likelihood of customers (`weight` of each summary) and its gradient in the fit's
    coordinates `v`: log (r, α, a, b) of each class, then the first class's share as a logit. A class's gradient is
    its one-class gradient weighed by how likely the class is for each customer (the posterior)."""
    params = np.exp(v[:8].reshape(2, 4))
    log_share = np.array([v[8], 0.0]) - np.logaddexp(v[8], 0.0)
    fitted = [bgnbd_log_likelihood(p, x, t_x, T) for p in params]
    joint = np.array([ll for ll, _ in fitted]) + log_share[:, None]
    ll = np.logaddexp(joint[0], joint[1])
    posterior = np.exp(joint - ll)
    gradient = [(g * posterior[k]) @ weight * params[k] for k, (_, g) in enumerate(fitted)]
    share = (posterior[0] - np.exp(log_share[0])) @ weight
    return float(weight @ ll), np.concatenate([*gradient, [share]])


PurchaseModel = BgNbd | LatentBgNbd


@dataclass(frozen=True)
class PurchaseModels:
    """BG/NBD and its two-class form fitted on the same summary, and the one kehu uses (`chosen`)."""

    one: BgNbd
    two: LatentBgNbd | None  # None where it could not be fitted
    customers: int

    @property
    def gain(self) -> float:
        """How much more likely the customers' summaries are under two classes (log-likelihood, all customers)."""
        return 0.0 if self.two is None else (self.two.log_likelihood - self.one.log_likelihood) * self.customers

    @property
    def chosen(self) -> PurchaseModel:
        """Two classes where they fit better by more than their five extra parameters cost (Akaike's criterion:
        twice the gain above twice the extra parameters), else BG/NBD. Nothing after the summary is looked at."""
        return self.two if self.two is not None and self.gain > LATENT_EXTRA_PARAMETERS else self.one


def fit_purchase_models(frequency: Array, recency: Array, T: Array) -> PurchaseModels:
    """Both purchase models on one summary (raises FitError where even BG/NBD cannot be fitted)."""
    one = BgNbd.fit(frequency, recency, T)
    try:
        two: LatentBgNbd | None = LatentBgNbd.fit(frequency, recency, T, start=one)
    except FitError:
        two = None
    return PurchaseModels(one=one, two=two, customers=len(frequency))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float
    log_likelihood: float = 0.0
    iterations: int = 0

    @classmethod
    def fit(cls, frequency: Array, monetary: Array) -> GammaGamma:
        """Fitted on customers with at least one repeat purchase of positive value."""
        usable = (frequency > 0) & (monetary > 0)
        if usable.sum() < 2:
            raise FitError("Gamma-Gamma needs customers with repeat purchases of positive value")
        sums = GammaGammaSums.of(frequency[usable], monetary[usable])

        def negative(log_params: Array) -> tuple[float, Array]:
            params = np.exp(log_params)
            ll, gradient = sums.log_likelihood(params)
            return -ll / sums.customers, -gradient * params / sums.customers

        fitted, nll, iterations = _fit(negative, np.ones(3), ("p", "q", "v"))
        return cls(**fitted, log_likelihood=-nll, iterations=iterations)

    def expected_spend(self, x: Array, m: Array) -> Array:
        """Expected value of a customer's future purchases: their own mean shrunk towards the population's."""
        p, q, v = self.p, self.q, self.v
        return np.asarray(np.where(x > 0, p * (v + x * m) / (p * x + q - 1), p * v / (q - 1)), dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}


def gamma_gamma_log_likelihood(params: Array, x: Array, m: Array) -> tuple[Array, Array]:
    """Each customer's Gamma-Gamma log-likelihood of their mean spend `m` over `x` purchases, and its gradient."""
    p, q, v = params
    px = p * x
    log_total = np.log(x * m + v)
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    psi = special.digamma
    gradient = np.empty((3, len(x)))
    gradient[0] = x * (psi(px + q) - psi(px) + np.log(m) + np.log(x) - log_total)
    gradient[1] = psi(px + q) - psi(q) + np.log(v) - log_total
    gradient[2] = q / v - (px + q) / (x * m + v)
    return ll, gradient


@dataclass(frozen=True)
class GammaGammaSums:
    """The Gamma-Gamma log-likelihood of many customers, summed, with the terms that depend on the number of
    purchases alone computed once per distinct number: each evaluation then costs two passes over the
    customers (log and reciprocal of x·m + v) instead of eight special functions."""

    x: Array
    m: Array
    counts: Array  # distinct numbers of purchases → how many customers
    distinct: Array
    customers: float
    sum_log_m: float
    sum_x_log_m: float
    sum_x_log_x: float

    @classmethod
    def of(cls, x: Array, m: Array) -> GammaGammaSums:
        distinct, counts = np.unique(x, return_counts=True)
        return cls(
            x=x,
            m=m,
            counts=counts.astype(np.float64),
            distinct=distinct,
            customers=float(len(x)),
            sum_log_m=float(np.log(m).sum()),
            sum_x_log_m=float(x @ np.log(m)),
            sum_x_log_x=float(x @ np.log(x)),
        )

    def log_likelihood(self, params: Array) -> tuple[float, Array]:
        """The summed log-likelihood (as `gamma_gamma_log_likelihood` summed) and its gradient in (p, q, v)."""
        p, q, v = params
        x, counts, n = self.distinct, self.counts, self.customers
        px = p * x
        psi = special.digamma
        total = self.x * self.m + v
        log_total = np.log(total)
        weighted_log_total = (p * self.x + q) @ log_total
        ll = (
            counts @ (special.gammaln(px + q) - special.gammaln(px))
            - n * special.gammaln(q)
            + n * q * np.log(v)
            + p * self.sum_x_log_m
            - self.sum_log_m
            + p * self.sum_x_log_x
            - weighted_log_total
        )
        gradient = np.array(
            [
                counts @ (x * (psi(px + q) - psi(px))) + self.sum_x_log_m + self.sum_x_log_x - self.x @ log_total,
                counts @ psi(px + q) - n * psi(q) + n * np.log(v) - log_total.sum(),
                n * q / v - ((p * self.x + q) @ (1 / total)),
            ]
        )
        return float(ll), gradient


VALUE_CHUNK = 100_000  # customers whose 12 months are predicted together (a few arrays of 12 × this)


def lifetime_value(
    purchases: PurchaseModel,
    spend: GammaGamma,
    summary: Summary,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
) -> Array:
    """Each customer's expected value over the next `months`, month by month, discounted at `monthly_discount`.

    The expected purchases of all the months are asked for at once (months × customers, `VALUE_CHUNK` customers at
    a time), so that what depends only on the customer — P(alive), the two-class posterior — is computed once per
    customer, not once per month."""
    month = 30.0 / summary.unit_days
    x, t_x, T = summary.frequency, summary.recency, summary.T
    value = spend.expected_spend(x, summary.monetary)
    steps = np.arange(1, months + 1, dtype=np.float64)
    discount = (1 + monthly_discount) ** -steps
    horizons: Array = (steps * month)[:, None]
    total = np.empty(len(x))
    for start in range(0, len(x), VALUE_CHUNK):
        part = slice(start, start + VALUE_CHUNK)
        cumulative = purchases.expected_purchases(horizons, x[part], t_x[part], T[part])
        total[part] = discount @ np.diff(cumulative, axis=0, prepend=0.0) * value[part]
    return total
