"""Lead capture: a public form (on kehu at /f/<key>/, or framed in the company's website) whose submissions
become customers of the form's owner — or update the customer with the same mobile or email.

The form is anonymous: it acts with the form owner's rights only, never with those of whoever is signed in
in the same browser, so a forged cross-site post can do no more than a visitor filling it in. Bots are kept
out without a captcha: a hidden honeypot field, a signed token that says when the page was served (a form
sent within 2 seconds or after a day is refused), and at most 5 submissions per address and form in 10
minutes. The address is kept only as a keyed hash, for that limit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core.fields import index_of
from kehu.customers.bulk import ImportRow, customers_import_batch
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput
from kehu.ingest.models import LeadForm, LeadSubmission

TOKEN_SALT = "kehu.ingest.leadform"  # noqa: S105 - a namespace for the signer, not a secret
MIN_SECONDS, MAX_SECONDS = 2, 24 * 3600
RATE_LIMIT, RATE_WINDOW = 5, dt.timedelta(minutes=10)
HONEYPOT = "website"
ORIGIN = re.compile(r"https://[a-z0-9.-]+(?::[0-9]{1,5})?", re.IGNORECASE)  # a field people never see and bots fill in
LIMITS = {"name": 200, "mobile": 50, "email": 200, "company": 200, "job_title": 100, "city": 50, "message": 2000}


def form_token(form: LeadForm) -> str:
    """Signed: which form, and when the page was served."""
    return signing.dumps({"f": form.key, "t": timezone.now().timestamp()}, salt=TOKEN_SALT, compress=True)


@dataclass
class LeadResult:
    outcome: str  # created | updated | unchanged | refused | limited | honeypot
    errors: dict[str, str] = field(default_factory=dict)  # form field (or "__all__") → reason
    customer: Customer | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in ("created", "updated", "unchanged", "honeypot")


def _token_problem(form: LeadForm, token: str) -> str | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return _("the form has expired; reload the page and send it again")
    age = timezone.now().timestamp() - float(data.get("t", 0))
    if data.get("f") != form.key or not MIN_SECONDS <= age <= MAX_SECONDS:
        return _("the form has expired; reload the page and send it again")
    return None


def lead_submit(*, form: LeadForm, data: Mapping[str, str], address: str) -> LeadResult:
    """Validate a submission and record it as a customer (with consent and message); say what happened."""
    address_index = index_of("lead-form-address", address or "unknown")
    if data.get(HONEYPOT):
        LeadSubmission.objects.create(form=form, address_index=address_index, outcome="honeypot")
        return LeadResult("honeypot")  # looks accepted to the bot; nothing is stored about anyone
    since = timezone.now() - RATE_WINDOW
    if (
        LeadSubmission.objects.filter(form=form, address_index=address_index, created_at__gte=since).count()
        >= RATE_LIMIT
    ):
        return LeadResult(
            "limited", {"__all__": _("too many submissions from your network; try again in a few minutes")}
        )
    problem = _token_problem(form, data.get("token", ""))
    if problem:
        return LeadResult("refused", {"__all__": problem})
    values = {name: (data.get(name) or "").strip() for name in form.fields}
    errors = {name: _("is required") for name in form.required if name in form.fields and not values.get(name)}
    errors.update(
        {
            name: _("at most %(limit)s characters") % {"limit": LIMITS[name]}
            for name, value in values.items()
            if name in LIMITS and len(value) > LIMITS[name]
        }
    )
    consented = data.get("consent") in ("on", "true", "1")
    if form.consent_purpose and form.consent_required and not consented:
        errors["consent"] = _("please agree to send the form")
    if not values.get("mobile") and not values.get("email"):
        errors.setdefault("mobile" if "mobile" in form.fields else "email", _("give a mobile number or an email"))
    if errors:
        return LeadResult("refused", errors)
    with transaction.atomic():
        result = _record(form, values, consented)
        if result.accepted:
            LeadSubmission.objects.create(
                form=form, address_index=address_index, outcome=result.outcome, customer=result.customer
            )
        else:
            transaction.set_rollback(True)
    if not result.accepted:
        LeadSubmission.objects.create(form=form, address_index=address_index, outcome="refused")
    return result


def _record(form: LeadForm, values: Mapping[str, str], consented: bool) -> LeadResult:
    points = [
        ContactPointInput(kind=kind, value=values[kind], source=f"form:{form.key}")
        for kind in ("mobile", "email")
        if values.get(kind)
    ]
    row = ImportRow(
        number=1,
        values={
            "display_name": values.get("name", "") or values.get("email", "") or values.get("mobile", ""),
            "company_name": values.get("company", ""),
            "job_title": values.get("job_title", ""),
            "source_channel": form.source_channel,
            "source_campaign": form.campaign,
        },
        contact_points=points,
        addresses=[AddressInput(city=values["city"])] if values.get("city") else [],
    )
    outcome = customers_import_batch(
        actor=form.owner, rows=[row], policy="fill_blanks", import_batch=f"form:{form.key}"
    )[0]
    if outcome.action == "failed":
        kinds = [point.kind for point in points]
        errors: dict[str, str] = {}
        for error in outcome.errors:
            name = error.field
            if name.startswith("contact_points.") and name.split(".")[1].isdigit():
                name = kinds[int(name.split(".")[1])]
            elif name.startswith("addresses"):
                name = "city"
            elif name == "display_name":
                name = "name"
            errors[name if name in form.fields else "__all__"] = str(error.reason)
        return LeadResult("refused", errors)
    if outcome.customer_id is None:  # created or matched in this transaction: never
        raise RuntimeError("the lead was not recorded")
    customer = Customer.objects.get(pk=outcome.customer_id)
    if consented and form.consent_purpose:
        from kehu.privacy.services import consent_give

        consent_give(
            actor=form.owner,
            customer=customer,
            purpose=form.consent_purpose,
            legal_basis="consent",
            source=_("web form %(name)s") % {"name": form.name},
            wording=form.consent_text,
        )
    if values.get("message"):
        from kehu.interactions.services import interaction_log

        interaction_log(
            actor=form.owner,
            customer=customer,
            kind="note",
            direction="inbound",
            channel="web form",
            subject=form.title[:200],
            body=values["message"],
        )
    return LeadResult(outcome.action, customer=customer)


def frame_origins(form: LeadForm) -> str:
    """The sites allowed to frame the form, as CSP sources: only well-formed https origins are kept."""
    return " ".join(origin for origin in form.allowed_origins.split() if ORIGIN.fullmatch(origin))
