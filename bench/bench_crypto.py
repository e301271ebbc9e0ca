"""Cost of field encryption per value: AES-256-GCM encrypt and decrypt, and the HMAC blind index.

    .venv/bin/python bench/bench_crypto.py [--values 100000] [--runs 5]

Prints the median over runs of microseconds per value; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from kehu.core.crypto import Keyring, _blind, blind_index, decrypt, encrypt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    keyring = Keyring(keys=(("k1", os.urandom(32)),), index_key=os.urandom(32))
    phones = [f"+86138{n:08d}" for n in range(args.values)]
    results: dict[str, list[float]] = {"encrypt": [], "decrypt": [], "blind index": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        stored = [encrypt(keyring, phone, context="customers_contactpoint.value") for phone in phones]
        results["encrypt"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for value in stored:
            decrypt(keyring, value, context="customers_contactpoint.value")
        results["decrypt"].append(time.perf_counter() - started)
        _blind.cache_clear()  # measure the HMAC itself, not the cache
        started = time.perf_counter()
        for phone in phones:
            blind_index(keyring, "phone", phone)
        results["blind index"].append(time.perf_counter() - started)
    for name, seconds in results.items():
        print(f"{name}: {statistics.median(seconds) / args.values * 1e6:.2f} µs per value (median of {args.runs})")


if __name__ == "__main__":
    main()
