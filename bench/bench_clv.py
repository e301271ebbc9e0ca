"""BG/NBD and Gamma-Gamma fitted on a million customers (`kehu.analytics.clv`).

    python bench/bench_clv.py --customers 1000000 --runs 5

Customers are drawn from the models themselves with the CDNOW parameters (r 0.243, α 4.414, a 0.793, b 2.426;
p 6.25, q 3.74, v 15.44) over 39 weeks, first purchases spread over the first 12 weeks as in CDNOW, times kept
to the day as a purchase log would give them. Reports the median fit time of each model over the runs, the
iterations, and how far the fitted parameters are from the ones the data was drawn from; and the time of the
two-class BG/NBD an analytics run fits beside it (`LatentBgNbd`), with its gain in log-likelihood (drawn from one
class, it should not be chosen).

`lifetimes` does not import beside kehu (no release since 2020; it needs pandas < 2): give `--lifetimes-python`
the interpreter of a separate environment (`python -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes
"pandas<2" "numpy<2" "scipy<1.14"`) and the same data is fitted there with `BetaGeoFitter` and
`GammaGammaFitter`, as their documentation shows (`--lifetimes-runs`, default 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from kehu.analytics.clv import LATENT_EXTRA_PARAMETERS, BgNbd, GammaGamma, LatentBgNbd

TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def draw(customers: int, seed: int) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T, monetary) of `customers` drawn from BG/NBD and Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    T = 39 - np.floor(rng.uniform(0, 12, customers) * 7) / 7  # weeks from the first purchase to the end
    rate = rng.gamma(TRUE_BGNBD["r"], 1 / TRUE_BGNBD["alpha"], customers)
    drop = rng.beta(TRUE_BGNBD["a"], TRUE_BGNBD["b"], customers)
    frequency = np.zeros(customers)
    recency = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    now = np.zeros(customers)
    while alive.any():
        gap = rng.exponential(1 / np.maximum(rate, 1e-12))
        now = np.where(alive, now + gap, now)
        bought = alive & (now <= T)
        frequency += bought
        recency = np.where(bought, np.floor(now * 7) / 7, recency)
        alive = bought & (rng.uniform(size=customers) >= drop)
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["v"], customers)
    # the mean of x purchases each Gamma(p, ν) is Gamma(p·x, ν·x)
    buyers = frequency > 0
    spend = np.zeros(customers)
    spend[buyers] = rng.gamma(TRUE_GG["p"] * frequency[buyers], 1 / (nu[buyers] * frequency[buyers]))
    return frequency, recency, T, spend


LIFETIMES = """
import json, sys, time, statistics
import numpy as np
from lifetimes import BetaGeoFitter, GammaGammaFitter
data = np.load(sys.argv[1]); runs = int(sys.argv[2])
f, r, T, m = data["frequency"], data["recency"], data["T"], data["monetary"]
purchases, spending = [], []
for _ in range(runs):
    started = time.perf_counter(); bg = BetaGeoFitter().fit(f, r, T); purchases.append(time.perf_counter() - started)
    started = time.perf_counter(); gg = GammaGammaFitter().fit(f[f > 0], m[f > 0])
    spending.append(time.perf_counter() - started)
print("RESULT " + json.dumps({
    "bgnbd_seconds": round(statistics.median(purchases), 2),
    "bgnbd": {k: round(float(v), 4) for k, v in bg.params_.items()},
    "gamma_gamma_seconds": round(statistics.median(spending), 2),
    "gamma_gamma": {k: round(float(v), 4) for k, v in gg.params_.items()},
}))
"""


def with_lifetimes(python: str, runs: int, columns: tuple[np.ndarray, ...]) -> dict[str, object]:
    """The same data fitted by `lifetimes` in the environment of `python`."""
    frequency, recency, T, spend = columns
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "customers.npz"
        np.savez(data, frequency=frequency, recency=recency, T=T, monetary=spend)
        script = Path(folder) / "fit.py"
        script.write_text(LIFETIMES, encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - the interpreter the person running the benchmark named
            [python, str(script), str(data), str(runs)], capture_output=True, text=True, check=True
        )
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lifetimes-python", help="an interpreter with lifetimes installed, to fit the same data")
    parser.add_argument("--lifetimes-runs", type=int, default=1)
    args = parser.parse_args()
    frequency, recency, T, spend = draw(args.customers, args.seed)
    distinct = len(np.unique(np.column_stack([frequency, recency, T]), axis=0))
    purchases, spending, latent = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        model = BgNbd.fit(frequency, recency, T)
        purchases.append(time.perf_counter() - started)
        started = time.perf_counter()
        two = LatentBgNbd.fit(frequency, recency, T, start=model)
        latent.append(time.perf_counter() - started)
        started = time.perf_counter()
        money = GammaGamma.fit(frequency, spend)
        spending.append(time.perf_counter() - started)
    result = {
        "customers": args.customers,
        "distinct_summaries": distinct,
        "repeat_buyers": int((frequency > 0).sum()),
        "bgnbd_seconds": round(statistics.median(purchases), 2),
        "bgnbd_iterations": model.iterations,
        "bgnbd": {k: round(v, 4) for k, v in model.as_dict().items()},
        "gamma_gamma_seconds": round(statistics.median(spending), 2),
        "gamma_gamma": {k: round(v, 4) for k, v in money.as_dict().items()},
        # the two-class form an analytics run also fits (after BG/NBD, from its fit), and whether it would be chosen
        "two_class_seconds": round(statistics.median(latent), 2),
        "two_class_gain": round((two.log_likelihood - model.log_likelihood) * args.customers, 2),
        "two_class_chosen": (two.log_likelihood - model.log_likelihood) * args.customers > LATENT_EXTRA_PARAMETERS,
    }
    if args.lifetimes_python:
        theirs = with_lifetimes(args.lifetimes_python, args.lifetimes_runs, (frequency, recency, T, spend))
        result["lifetimes"] = theirs
        result["speedup_bgnbd"] = round(float(theirs["bgnbd_seconds"]) / max(result["bgnbd_seconds"], 1e-9), 1)  # type: ignore[arg-type]
        result["speedup_gamma_gamma"] = round(
            float(theirs["gamma_gamma_seconds"]) / max(result["gamma_gamma_seconds"], 1e-9),  # type: ignore[arg-type]
            1,
        )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
