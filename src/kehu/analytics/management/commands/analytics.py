"""`kehu analytics validate`: how well the purchase models predict a holdout, on any purchase log.

kehu analytics run --as USER [--as-of DATE] [--background]
kehu analytics validate --transactions FILE --calibration-end DATE --holdout-end DATE [--unit-days 7]
                        [--period day|week] [--horizon-days 91]

FILE holds one purchase per row: customer id, date, amount (CSV, tab or space separated, header optional). The
models are fitted on the purchases up to the calibration's end and predict each customer's purchases up to the
holdout's end; the report gives the fitted parameters, predicted against actual holdout purchases in total and
by repeat purchases in calibration, the mean absolute error per customer, and the AUC of the ranking. Then who
buys again within the horizon after the calibration: BG/NBD against the supervised model (gradient boosting
trained on earlier windows of the calibration), their AUC, calibration and which features drive the trees.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from kehu.analytics.clv import LATENT_EXTRA_PARAMETERS
from kehu.analytics.propensity import Comparison
from kehu.analytics.services import analytics_start
from kehu.analytics.validation import MODEL_NAMES, HoldoutReport, holdout_report, model_key, read_purchases
from kehu.core.errors import PermissionDeniedError, ServiceValidationError
from kehu.core.progress import acting_user, job_run_in_terminal


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _english(name: object) -> str:
    """A translatable name in English, as the rest of this command's report is written."""
    with translation.override("en"):
        return str(name)


class Command(BaseCommand):
    help = "Customer analytics: validate the purchase models on a calibration / holdout split"

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        run = commands.add_parser("run", help="score every customer: RFM segments, classes, lifetime value, churn risk")
        run.add_argument("--as", dest="username", required=True, help="the user the run acts as (role, audit)")
        run.add_argument("--background", action="store_true", help="queue it for `kehu worker` and return")
        run.add_argument("--as-of", type=_day, help="score as things stood at the end of this day (default: now)")
        run.add_argument(
            "--clusters",
            type=int,
            choices=range(2, 13),
            metavar="K",
            help="clusters to form (default: best silhouette)",
        )
        validate = commands.add_parser("validate", help="fit on a calibration period, predict the holdout, compare")
        validate.add_argument("--transactions", type=Path, required=True, help="customer id, date, amount per row")
        validate.add_argument("--calibration-end", type=_day, required=True, help="last day of calibration")
        validate.add_argument("--holdout-end", type=_day, required=True, help="last day of the holdout")
        validate.add_argument("--unit-days", type=float, default=7.0, help="days in a time unit (default: weeks)")
        validate.add_argument(
            "--period",
            choices=("day", "week"),
            default="day",
            help="purchases within one day (default) or one calendar week count as one",
        )
        validate.add_argument(
            "--horizon-days", type=int, default=91, help="who buys again within this many days (default 91)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "run":
            self._run(options)
            return
        path: Path = options["transactions"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            purchases = read_purchases(path)
            report = holdout_report(
                purchases,
                calibration_end=options["calibration_end"],
                holdout_end=options["holdout_end"],
                unit_days=options["unit_days"],
                period_days=7 if options["period"] == "week" else 1,
                horizon_days=options["horizon_days"],
            )
        except ServiceValidationError as error:
            raise CommandError("\n".join(f"{e.field}: {e.reason}" for e in error.errors)) from None
        self._print(report)

    def _run(self, options: dict[str, Any]) -> None:
        actor = acting_user(options["username"])
        try:
            as_of = options.get("as_of")
            moment = (
                timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())) if as_of else None
            )
            job = analytics_start(
                actor=actor, as_of=moment, clusters=options.get("clusters"), rfm_months=options.get("rfm_months")
            )
        except PermissionDeniedError as error:
            raise CommandError(str(error)) from None
        ran = job_run_in_terminal(
            job,
            background=options["background"],
            out=self.stdout,
            errors=self.stderr,
            label="customers scored",
            failure="analytics run failed",
        )
        if ran is None:
            return
        result = ran.result
        self.stdout.write(
            f"{result['customers']:,} customers scored ({result['with_orders']:,} with orders) in {result['seconds']} s"
        )
        for scheme in ("segments", "classes"):
            counts = ", ".join(f"{name} {count:,}" for name, count in result[scheme].items())
            self.stdout.write(f"{scheme}: {counts}")
        if result.get("clusters"):
            clusters = result["clusters"]
            self.stdout.write(f"clusters: k = {clusters['k']} (silhouette {clusters['silhouette']})")
            for persona in clusters["personas"]:
                self.stdout.write(
                    f"  {persona['cluster']}: {persona['customers']:,} customers, {' / '.join(persona['words'])}"
                )
        for rule in result.get("churn_rules") or []:
            conditions = " and ".join(f"{name} {op} {value:g}" for name, op, value in rule["conditions"])
            self.stdout.write(f"rule: {conditions} → {rule['share']:.0%} did not buy again ({rule['customers']:,})")

    def _print(self, report: HoldoutReport) -> None:
        out = self.stdout.write
        unit = "weeks" if report.unit_days == 7 else f"units of {report.unit_days:g} days"
        out(
            f"{report.customers:,} customers; calibration to {report.calibration_end}, holdout to "
            f"{report.holdout_end} ({report.holdout_length:.1f} {unit}); purchases counted once a "
            f"{'week' if report.period_days == 7 else 'day'}"
        )
        models = report.models
        params = ", ".join(f"{name} = {value:.4f}" for name, value in models.one.as_dict().items())
        out(f"BG/NBD: {params} (log-likelihood {models.one.log_likelihood:.4f} per customer)")
        if models.two is not None:
            classes = "; ".join(
                f"share {share:.3f}: r = {c.r:.4f}, alpha = {c.alpha:.4f}, a = {c.a:.4f}, b = {c.b:.4f}"
                for c, share in zip(models.two.classes, models.two.weights, strict=True)
            )
            out(f"two-class BG/NBD: {classes} (log-likelihood {models.two.log_likelihood:.4f} per customer)")
            chosen = _english(MODEL_NAMES[model_key(report.purchases)])
            out(
                f"chosen: {chosen} (two classes raise the log-likelihood by "
                f"{models.gain:.2f}; they are used above {LATENT_EXTRA_PARAMETERS}, the cost of their "
                f"{LATENT_EXTRA_PARAMETERS} extra parameters by Akaike's criterion)"
            )
        if report.spend:
            spend = ", ".join(f"{name} = {value:.4f}" for name, value in report.spend.as_dict().items())
            out(f"Gamma-Gamma: {spend}")
        else:
            out("Gamma-Gamma: not fitted (no repeat purchases of positive value)")
        actual = f"actual {report.actual:,.0f}"
        for figures in report.compared:
            change = f" ({figures.predicted / report.actual - 1:+.1%})" if report.actual else ""
            auc = f"{figures.auc:.4f}" if figures.auc is not None else "– (no one or everyone bought)"
            name = _english(MODEL_NAMES[figures.model]) + (" (chosen)" if figures.chosen else "")
            out(
                f"{name}: holdout purchases predicted "
                f"{figures.predicted:,.1f}, {actual}{change}; mean absolute error per customer {figures.mae:.4f}; "
                f"AUC (who buys again) {auc}"
            )
        out("the chosen model, by repeat purchases in calibration:")
        out("repeat purchases in calibration | customers | predicted per customer | actual per customer")
        for bucket in report.buckets:
            row = (bucket.repeat_purchases, f"{bucket.customers:,}", f"{bucket.predicted:.3f}", f"{bucket.actual:.3f}")
            out(" | ".join(f"{cell:>8}" for cell in row))
        if report.buy_again:
            self._print_buy_again(report.buy_again)

    def _print_buy_again(self, comparison: Comparison) -> None:
        out = self.stdout.write
        out(
            f"who buys again within {comparison.horizon_days} days after {comparison.evaluated_from}: "
            f"{comparison.buyers:,} of {comparison.customers:,} customers"
        )
        for model, auc in comparison.auc.items():
            out(f"  AUC, {model}: {auc:.4f}")
        out(f"  chosen: {comparison.chosen}" + (f" ({comparison.reason})" if comparison.reason else ""))
        if comparison.training_rows:
            out(f"  the trees learnt from {comparison.training_rows:,} customer-windows before it")
        for model, bins in comparison.calibration.items():
            out(f"  calibration, {model} (predicted probability | customers | mean predicted | share who bought)")
            for part in bins:
                share = f"{part.predicted:.3f} | {part.observed:.3f}"
                out(f"    {part.low:.1f}-{part.low + 0.1:.1f} | {part.customers:>7,} | {share}")
        if comparison.importance:
            out(
                "  what moves the trees (AUC lost when the feature is shuffled): "
                + ", ".join(f"{name} {drop:+.4f}" for name, drop in comparison.importance[:5])
            )
