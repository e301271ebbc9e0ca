"""BG/NBD and Gamma-Gamma: the published CDNOW parameters, analytic gradients that agree with the numbers, and
`kehu analytics validate` on a real purchase log and on a broken one."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from scipy import optimize

from kehu.analytics import clv

REFERENCE = Path(os.environ.get("KEHU_REFERENCE_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
CDNOW = REFERENCE / "cdnow"
needs_cdnow = pytest.mark.skipif(
    not (CDNOW / "CDNOW_sample.txt").is_file(),
    reason=f"the CDNOW reference data is not at {CDNOW} (set KEHU_REFERENCE_DATA to the shared data directory)",
)
# Fader, Hardie & Lee (2005), maximum likelihood on the calibration summary of the 2,357-customer sample
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _calibration_summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with (CDNOW / "cdnow_customers_summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(np.array([float(row[key]) for row in rows]) for key in ("frequency", "recency", "T"))  # type: ignore[return-value]


def _sample_csv(tmp_path: Path) -> Path:
    """CDNOW_sample.txt as a purchase log: customer (sample id), date, amount."""
    out = tmp_path / "cdnow.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount"])
        for line in (CDNOW / "CDNOW_sample.txt").read_text(encoding="utf-8").splitlines():
            _customer, sample_id, date, _cds, value = line.split()
            writer.writerow([sample_id, date, value])
    return out


@needs_cdnow
def test_bgnbd_finds_the_published_parameters_on_the_cdnow_calibration_summary() -> None:
    model = clv.BgNbd.fit(*_calibration_summary())
    for name, published in PUBLISHED.items():
        assert getattr(model, name) == pytest.approx(published, rel=0.005), name


@needs_cdnow
def test_the_summary_of_the_raw_purchases_is_the_published_one() -> None:
    ids, dates, amounts = [], [], []
    for line in (CDNOW / "CDNOW_sample.txt").read_text(encoding="utf-8").splitlines():
        _customer, sample_id, date, _cds, value = line.split()
        ids.append(int(sample_id))
        dates.append(dt.date(int(date[:4]), int(date[4:6]), int(date[6:])))
        amounts.append(float(value))
    summary = clv.summarise(ids, dates, amounts, calibration_end=dt.date(1997, 9, 30), holdout_end=dt.date(1998, 6, 30))
    frequency, recency, age = _calibration_summary()
    assert len(summary.customers) == 2357
    assert np.array_equal(summary.frequency, frequency)
    assert np.abs(summary.recency - recency).max() < 0.005  # the published file rounds to 2 decimals
    assert np.abs(summary.T - age).max() < 0.005
    assert summary.holdout_length == 39.0  # weeks 40–78
    # Gamma-Gamma on the repeat purchases' mean value: lifetimes' published fit on this sample
    spend = clv.GammaGamma.fit(summary.frequency, summary.monetary)
    assert (spend.p, spend.q, spend.v) == pytest.approx((6.25, 3.74, 15.44), rel=0.005)


def test_the_analytic_gradients_are_the_numerical_ones() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 8, 50).astype(float)
    T = rng.uniform(5, 40, 50)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 50), 0.0)
    for params in (np.array([0.24, 4.4, 0.79, 2.4]), np.array([1.3, 0.6, 2.5, 0.4])):
        for customer in range(50):
            one = (x[customer : customer + 1], t_x[customer : customer + 1], T[customer : customer + 1])
            error = optimize.check_grad(
                lambda p, one=one: clv.bgnbd_log_likelihood(p, *one)[0][0],
                lambda p, one=one: clv.bgnbd_log_likelihood(p, *one)[1][:, 0],
                params,
            )
            assert error < 1e-5
    m = rng.uniform(5, 80, 50)
    buyers = np.maximum(x, 1)
    for customer in range(50):
        one = (buyers[customer : customer + 1], m[customer : customer + 1])
        error = optimize.check_grad(
            lambda p, one=one: clv.gamma_gamma_log_likelihood(p, *one)[0][0],
            lambda p, one=one: clv.gamma_gamma_log_likelihood(p, *one)[1][:, 0],
            np.array([6.25, 3.74, 15.44]),
        )
        assert error < 1e-4


def test_predictions_behave_as_the_model_says() -> None:
    model = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, t_x, T = np.array([0.0, 5.0, 5.0]), np.array([0.0, 30.0, 5.0]), np.array([38.0, 38.0, 38.0])
    alive = model.probability_alive(x, t_x, T)
    assert alive[0] == 1  # no repeat purchase: BG/NBD never saw them drop out
    # P(alive) = 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), worked by hand for x = 5, t_x = 30, T = 38
    assert alive[1] == pytest.approx(1 / (1 + 0.793 / 6.426 * (42.414 / 34.414) ** 5.243), rel=1e-9)
    assert alive[1] > 0.7
    assert alive[2] < 0.01  # five purchases, the last 33 weeks ago: probably gone
    expected = model.expected_purchases(39.0, x, t_x, T)
    assert expected[1] > expected[0] > expected[2] > 0
    assert np.all(model.expected_purchases(78.0, x, t_x, T) > expected)  # more time, more purchases
    spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    # one purchase of 100 is shrunk towards the population's mean (p·v/(q−1) ≈ 35.2); fifty are nearly trusted
    assert spend.expected_spend(np.array([0.0]), np.array([0.0]))[0] == pytest.approx(6.25 * 15.44 / 2.74)
    few, many = spend.expected_spend(np.array([1.0, 50.0]), np.array([100.0, 100.0]))
    assert few == pytest.approx(6.25 * (15.44 + 100) / (6.25 + 3.74 - 1))  # 80.3
    assert many == pytest.approx(6.25 * (15.44 + 5000) / (312.5 + 3.74 - 1))  # 99.4
    assert 35.2 < few < many < 100


@needs_cdnow
def test_kehu_analytics_validate_reports_the_holdout(tmp_path: Path) -> None:
    out = StringIO()
    call_command(
        "analytics",
        "validate",
        "--transactions",
        str(_sample_csv(tmp_path)),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        stdout=out,
    )
    text = out.getvalue()
    assert "2,357 customers" in text
    assert "BG/NBD: r = 0.2426, alpha = 4.4136, a = 0.7930, b = 2.4262" in text
    assert "Gamma-Gamma: p = 6.2496, q = 3.7442, v = 15.4436" in text
    # days with a purchase; two classes fit better by more than their extra parameters cost, and are chosen
    assert "chosen: two-class BG/NBD (two classes raise the log-likelihood by 11.05;" in text
    assert (
        "BG/NBD: holdout purchases predicted 1,653.4, actual 1,882 (-12.1%); mean absolute error per customer "
        "0.7855; AUC (who buys again) 0.7725"
    ) in text
    assert (
        "two-class BG/NBD (chosen): holdout purchases predicted 1,614.7, actual 1,882 (-14.2%); mean absolute error "
        "per customer 0.7652; AUC (who buys again) 0.7736"
    ) in text
    assert "     7+ |       64 |    6.086 |    6.359" in text  # the chosen model's buckets


def test_a_broken_purchase_log_names_the_row_and_column(tmp_path: Path) -> None:
    log = tmp_path / "purchases.csv"
    log.write_text(
        '客户,日期,金额\nA1,2024-01-05,"¥1,200.00"\nA1,2024/13/01,50\nB2,2024年2月3日,abc\n,2024-02-04,5\nC3,2024-02-05\n',
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as refused:
        call_command(
            "analytics", "validate", "--transactions", str(log), "--calibration-end", "2024-03-01", "--holdout-end",
            "2024-06-01",
        )  # fmt: skip
    lines = str(refused.value).splitlines()
    assert lines[0] == "row 3, column date: 2024/13/01 is not a real date"
    assert lines[1] == "row 4, column amount: abc is not an amount"
    assert lines[2] == "row 5, column customer id: is empty"
    assert lines[3] == "row 6: has fewer than 3 columns (customer id, date, amount)"
    log.write_text("A1,2024-01-05,10\nA1,2024-02-05,20\nB2,2024-01-07,5\n", encoding="utf-8")
    with pytest.raises(CommandError, match="holdout_end: must come after the calibration's end"):
        call_command(
            "analytics", "validate", "--transactions", str(log), "--calibration-end", "2024-03-01", "--holdout-end",
            "2024-01-01",
        )  # fmt: skip


@needs_cdnow
def test_counted_by_calendar_week_bgnbd_reproduces_the_reference_and_the_chosen_model_beats_it(tmp_path: Path) -> None:
    """The issue's reference is BG/NBD as `lifetimes` fits it with freq="W": predicted 1,610 against 1,788 actual,
    MAE 0.7622, AUC 0.7784 (measured with lifetimes 0.11.3). Counted by calendar week, kehu's BG/NBD gives the same;
    the model kehu chooses on the calibration alone (two classes) is closer on the total, and better on MAE and
    AUC."""
    out = StringIO()
    call_command(
        "analytics", "validate", "--transactions", str(_sample_csv(tmp_path)), "--calibration-end", "1997-09-30",
        "--holdout-end", "1998-06-30", "--period", "week", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "purchases counted once a week" in text
    assert "BG/NBD: r = 0.2834, alpha = 6.5907, a = 0.7790, b = 2.5546" in text  # lifetimes: .2834 6.5911 .7785 2.5534
    assert (
        "BG/NBD: holdout purchases predicted 1,610.1, actual 1,788 (-10.0%); mean absolute error per customer "
        "0.7622; AUC (who buys again) 0.7784"
    ) in text
    # a ninth of the customers buy at an almost common rate of about 0.16 a week (r/α; r itself lies on a flat
    # ridge of the likelihood, so only the rate is asserted)
    steady = re.search(r"share 0\.111: r = ([\d.]+), alpha = ([\d.]+),", text)
    assert steady is not None, text
    assert float(steady[1]) / float(steady[2]) == pytest.approx(0.162, abs=0.002)
    assert "chosen: two-class BG/NBD (two classes raise the log-likelihood by 9.57;" in text
    chosen = re.search(
        r"two-class BG/NBD \(chosen\): holdout purchases predicted ([\d,.]+), actual 1,788 \(-?[\d.]+%\); "
        r"mean absolute error per customer ([\d.]+); AUC \(who buys again\) ([\d.]+)",
        text,
    )
    assert chosen is not None, text
    total, mae, auc = float(chosen[1].replace(",", "")), float(chosen[2]), float(chosen[3])
    assert total == pytest.approx(1659, abs=3)
    assert mae == pytest.approx(0.7543, abs=0.0003)
    assert auc == pytest.approx(0.7790, abs=0.0002)
    # the reference beaten on each: closer on the total, a lower error per customer, a better ranking
    assert abs(total - 1788) < abs(1610.1 - 1788)
    assert mae < 0.7622
    assert auc > 0.7784
    # who buys again in the 91 days after calibration: BG/NBD ranks better than trees trained on 9,428 earlier
    # customer-windows of 2,357 customers, so it is the one chosen
    assert "who buys again within 91 days after 1997-09-30: 402 of 2,357 customers" in text
    assert "AUC, BG/NBD: 0.7845" in text
    assert "AUC, gradient boosting: 0.7697" in text
    assert "chosen: BG/NBD" in text
    assert "    0.0-0.1 |   1,601 | 0.071 | 0.073" in text  # calibrated: 7.1% predicted, 7.3% bought
    assert "what moves the trees (AUC lost when the feature is shuffled): BG/NBD probability of buying" in text


def _simulated(
    rng: np.random.Generator, classes: list[tuple[float, clv.BgNbd]], n: int, age: float, ahead: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T, purchases in the `ahead` units after `age`) of `n` customers drawn from BG/NBD classes in the
    given shares, all first buying at time 0."""
    share = np.array([w for w, _ in classes])
    which = rng.choice(len(classes), size=n, p=share / share.sum())
    rate = np.empty(n)
    drop = np.empty(n)
    for k, (_w, model) in enumerate(classes):
        chosen = which == k
        rate[chosen] = rng.gamma(model.r, 1 / model.alpha, chosen.sum())
        drop[chosen] = rng.beta(model.a, model.b, chosen.sum())
    clock, x, last, later = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        clock = np.where(alive, clock + rng.exponential(1 / rate), clock)
        inside = alive & (clock <= age)
        x = np.where(inside, x + 1, x)
        last = np.where(inside, clock, last)
        later = np.where(alive & (clock > age) & (clock <= age + ahead), later + 1, later)
        alive &= clock <= age + ahead
        alive &= rng.random(n) >= drop  # drops out right after a purchase
    return x, last, np.full(n, age), later


def test_the_probability_of_buying_matches_a_simulated_population() -> None:
    """BG/NBD's P(at least one purchase in the next t) against customers drawn from the model itself."""
    rng = np.random.default_rng(5)
    model = clv.BgNbd(r=0.6, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, iterations=0)
    n, age, ahead = 200_000, 30.0, 13.0
    x, last, T, later = _simulated(rng, [(1.0, model)], n, age, ahead)
    bought_later = later > 0
    predicted = model.probability_buying(ahead, x, last, T)
    assert predicted.mean() == pytest.approx(bought_later.mean(), abs=0.005)
    for count in (0, 1, 3):
        chosen = x == count
        assert predicted[chosen].mean() == pytest.approx(bought_later[chosen].mean(), abs=0.01), count


def test_the_two_class_gradient_is_the_numerical_one() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 8, 40).astype(float)
    T = rng.uniform(5, 40, 40)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 40), 0.0)
    weight = rng.integers(1, 5, 40).astype(float)
    for v in (
        np.r_[np.log([0.24, 4.4, 0.79, 2.4]), np.log([40.0, 200.0, 5.0, 4.0]), 1.5],
        np.r_[np.log([1.3, 0.6, 2.5, 0.4]), np.log([0.01, 0.3, 30.0, 400.0]), -0.7],
    ):
        analytic = clv.latent_bgnbd_log_likelihood(v, x, t_x, T, weight)[1]
        numerical = optimize.approx_fprime(v, lambda u: clv.latent_bgnbd_log_likelihood(u, x, t_x, T, weight)[0], 1e-6)
        assert analytic == pytest.approx(numerical, rel=1e-4, abs=1e-3)


def test_two_classes_are_found_where_there_are_two_and_not_chosen_where_there_is_one() -> None:
    """Customers drawn from two BG/NBD classes (a tenth buying steadily, about once in six weeks; the rest as
    CDNOW's): the two-class fit finds the tenth and its rate and is chosen, and it predicts the next 39 weeks
    closer per customer than one class (its total is within 5%). Customers drawn from one class keep one-class
    BG/NBD: two classes gain less than their five extra parameters cost."""
    rng = np.random.default_rng(11)
    casual = clv.BgNbd(r=0.24, alpha=8.0, a=0.9, b=10.0)
    steady = clv.BgNbd(r=150.0, alpha=900.0, a=2.0, b=30.0)
    x, t_x, T, later = _simulated(rng, [(0.9, casual), (0.1, steady)], 20_000, 39.0, 39.0)
    models = clv.fit_purchase_models(x, t_x, T)
    two = models.chosen
    assert isinstance(two, clv.LatentBgNbd)
    assert two.weights[1] == pytest.approx(0.1, abs=0.02)
    assert two.classes[1].r / two.classes[1].alpha == pytest.approx(150 / 900, rel=0.1)
    assert np.allclose(two.posterior(x, t_x, T).sum(axis=0), 1.0)
    predicted = two.expected_purchases(39.0, x, t_x, T)
    one_class = models.one.expected_purchases(39.0, x, t_x, T)
    assert predicted.sum() == pytest.approx(later.sum(), rel=0.05)
    assert np.abs(predicted - later).mean() < np.abs(one_class - later).mean()
    alone = _simulated(rng, [(1.0, casual)], 20_000, 39.0, 39.0)
    single = clv.fit_purchase_models(*alone[:3])
    assert single.gain < clv.LATENT_EXTRA_PARAMETERS
    assert isinstance(single.chosen, clv.BgNbd)


def test_the_summed_gamma_gamma_likelihood_is_the_sum_of_each_customers() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 12, 500).astype(float)
    m = rng.gamma(3, 10, 500)
    sums = clv.GammaGammaSums.of(x, m)
    for params in (np.array([6.25, 3.74, 15.44]), np.array([0.8, 9.0, 2.0])):
        each, gradients = clv.gamma_gamma_log_likelihood(params, x, m)
        total, gradient = sums.log_likelihood(params)
        assert total == pytest.approx(each.sum(), rel=1e-10)
        assert gradient == pytest.approx(gradients.sum(axis=1), rel=1e-9)
