"""Duplicate detection measured: precision, recall and F1 of the pairs found, three ways, on labelled data.

    python bench/bench_dedup.py --data chinese --entities 10000        # the generated Chinese set
    python bench/bench_dedup.py --data febrl3                           # ../shared/data/febrl/dataset3.csv
    python bench/bench_dedup.py --data all

Each data set is run through:

- **exact keys**: records sharing a normalised phone, email or ID number are one customer (what most CRMs
  do, and what kehu's import does on the way in);
- **splink defaults**: splink's library comparisons with their default settings on the same columns
  (NameComparison on the name, ExactMatch on phone, EmailComparison, DateOfBirthComparison, …);
- **kehu**: `kehu.dedup.linkage` — the comparisons and blocking made for this data — as `kehu dedup run`
  runs it.

Values go through kehu's own normalisation first (phones to E.164, emails, names), as they would on
import. Pairs are counted from the groups (every two records of a group are a pair), against the truth
(records of one entity). Reports pairs scored, seconds, and peak memory of the process.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import resource
import sys
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data"


def _phone(raw: str) -> str:
    from kehu.core.normalize import NormalisationError, normalize_phone

    try:
        return normalize_phone(raw) if raw else ""
    except NormalisationError:
        return ""


def _email(raw: str) -> str:
    from kehu.core.normalize import NormalisationError, normalize_email

    try:
        return normalize_email(raw) if raw else ""
    except NormalisationError:
        return ""


def chinese_set(entities: int, seed: int) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Normalised values per record, and the truth (record id → entity)."""
    from dedup_data import generate
    from kehu.core.normalize import normalize_name

    rows = generate(entities, seed)
    records, truth = [], {}
    for number, row in enumerate(rows, start=1):
        records.append(
            {
                "unique_id": number,
                "name": normalize_name(row["name"]),
                "phones": [p for p in [_phone(row["mobile"])] if p],
                "emails": [e for e in [_email(row["email"])] if e],
                "company": row["company"],
                "province": row["province"],
                "city": row["city"],
                "district": row["district"],
                "street": row["street"],
                "birthday": row["birthday"],
                "id_key": row["id_number"],
                "external_id": row["external_id"],
            }
        )
        truth[number] = row["truth_entity"]
    return records, truth


def febrl_set(name: str) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """A FEBRL file: given name + surname as the name, street number + address lines as the street, suburb as
    the district, postcode as the city, state as the province, the social security id as the ID number."""
    path = DATA / "febrl" / f"{name}.csv"
    records, truth = [], {}
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = [column.strip() for column in next(reader)]
        for number, values in enumerate(reader, start=1):
            row = dict(zip(header, (value.strip() for value in values), strict=True))
            street = " ".join(part for part in (row["street_number"], row["address_1"], row["address_2"]) if part)
            birthday = row["date_of_birth"]
            records.append(
                {
                    "unique_id": number,
                    "name": f"{row['given_name']} {row['surname']}".strip(),
                    "family": row["surname"],
                    "given": row["given_name"],
                    "phones": [],
                    "emails": [],
                    "company": "",
                    "province": row["state"],
                    "city": row["postcode"],
                    "district": row["suburb"],
                    "street": street,
                    "birthday": birthday,
                    "id_key": row["soc_sec_id"],
                    "external_id": row["rec_id"],
                }
            )
            truth[number] = row["rec_id"].split("-")[1]
    return records, truth


def _pairs_of_groups(groups: dict[Any, list[int]]) -> set[tuple[int, int]]:
    return {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}


def score(found: set[tuple[int, int]], truth: dict[int, str]) -> dict[str, float]:
    entities: dict[str, list[int]] = defaultdict(list)
    for record, entity in truth.items():
        entities[entity].append(record)
    true_pairs = _pairs_of_groups(entities)  # type: ignore[arg-type]
    hits = len(found & true_pairs)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pairs_found": len(found),
        "true_pairs": len(true_pairs),
    }


def _pairs_of_links(links: dict[int, int]) -> set[tuple[int, int]]:
    """Every two records of each group, from record → group (`kehu.dedup.linkage.connected`)."""
    groups: dict[int, list[int]] = defaultdict(list)
    for record, group in links.items():
        groups[group].append(record)
    return _pairs_of_groups(groups)


def exact_keys(records: list[dict[str, Any]]) -> tuple[set[tuple[int, int]], int]:
    """Union of records sharing a phone, email or ID number."""
    from kehu.dedup.linkage import connected

    first: dict[str, int] = {}
    edges = []
    for r in records:
        keys = [f"p:{p}" for p in r["phones"]] + [f"e:{e}" for e in r["emails"]]
        keys += [f"i:{r['id_key']}"] if r["id_key"] else []
        for key in keys:
            edges.append((r["unique_id"], first.setdefault(key, r["unique_id"])))
    return _pairs_of_links(connected(edges)), 0


def splink_defaults(records: list[dict[str, Any]]) -> tuple[set[tuple[int, int]], int]:
    """splink's library comparisons with their defaults, blocking on each column that identifies."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame = pd.DataFrame(
        [
            {
                "unique_id": r["unique_id"],
                "name": r["name"] or None,
                "phone": r["phones"][0] if r["phones"] else None,
                "email": r["emails"][0] if r["emails"] else None,
                "company": r["company"] or None,
                "city": r["city"] or None,
                "street": r["street"] or None,
                "birthday": r["birthday"] or None,
                "id_key": r["id_key"] or None,
            }
            for r in records
        ]
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("name"),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.JaroWinklerAtThresholds("company"),
            cl.ExactMatch("city"),
            cl.LevenshteinAtThresholds("street"),
            cl.LevenshteinAtThresholds("birthday"),
            cl.ExactMatch("id_key"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("phone"),
            block_on("email"),
            block_on("birthday"),
            block_on("id_key"),
        ],
    )
    db = DuckDBAPI()
    linker = Linker(db.register(frame), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone"), block_on("email"), block_on("id_key")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in (block_on("name"), block_on("birthday")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    scored = len(predictions.as_pandas_dataframe())
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    ).as_pandas_dataframe()
    groups = clusters.groupby("cluster_id")["unique_id"].apply(list).to_dict()
    return _pairs_of_groups(groups), scored


def kehu_model(
    records: list[dict[str, Any]], threshold: float = 0.9, save_model: bool = False
) -> tuple[set[tuple[int, int]], int]:
    """`kehu dedup run`'s linkage and grouping: pairs at or above `threshold`, connected."""
    from kehu.dedup.linkage import DEFAULT_MODEL, connected, link, linkage_record, records_table

    table = records_table([linkage_record(r.pop("unique_id"), **r) for r in (dict(x) for x in records)])
    result = link(table)
    if save_model:
        DEFAULT_MODEL.write_text(json.dumps(result.model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"model saved to {DEFAULT_MODEL}")
    edges = [
        (pair["unique_id_l"], pair["unique_id_r"])
        for pair in result.pairs.to_pylist()
        if pair["match_probability"] >= threshold
    ]
    return _pairs_of_links(connected(edges)), result.comparisons_scored


METHODS = {"exact keys": exact_keys, "splink defaults": splink_defaults, "kehu": kehu_model}


def _setup() -> None:
    """kehu's normalisation reads its settings; nothing here touches a database."""
    import os

    import django

    os.environ.setdefault("KEHU_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghij")
    os.environ.setdefault("KEHU_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("KEHU_ENCRYPTION_KEYS", "bench:" + "A" * 43 + "=")
    os.environ.setdefault("KEHU_BLIND_INDEX_KEY", "A" * 43 + "=")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()


def main() -> None:
    _setup()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="all", help="chinese, febrl1, febrl2, febrl3 or all")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threshold", type=float, default=0.9, help="kehu: match probability that joins a group")
    parser.add_argument(
        "--save-model", action="store_true", help="save the model kehu learns on --data chinese as the one it ships"
    )
    args = parser.parse_args()
    methods = {**METHODS, "kehu": partial(kehu_model, threshold=args.threshold, save_model=args.save_model)}
    sets = ["chinese", "febrl1", "febrl2", "febrl3"] if args.data == "all" else args.data.split(",")
    results = []
    for name in sets:
        records, truth = (
            chinese_set(args.entities, args.seed) if name == "chinese" else febrl_set(name.replace("febrl", "dataset"))
        )
        for method in args.methods.split(","):
            started = time.perf_counter()
            found, scored = methods[method](records)
            seconds = time.perf_counter() - started
            result = {"data": name, "records": len(records), "method": method, **score(found, truth)}
            result.update(pairs_scored=scored, seconds=round(seconds, 1))
            result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            results.append(result)
            print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)
    print("| data | records | method | precision | recall | F1 | pairs scored | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['data']} | {r['records']:,} | {r['method']} | {r['precision']:.4f} | {r['recall']:.4f} "
            f"| **{r['f1']:.4f}** | {r['pairs_scored']:,} | {r['seconds']} |"
        )


if __name__ == "__main__":
    main()
