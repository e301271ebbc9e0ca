"""The duplicate check while a customer is entered (page, API, import): who among the customers the user may
see is probably the same person, and why — before anything is saved.

Two kinds of evidence, both read through indexes so that the check stays fast on a large base:
- a key: the same mobile, phone or email (blind index of the normalised value) or ID number;
- the name read aloud: customers whose name has the same pinyin (the search index finds 张伟, 章伟, 張偉 and
  "Zhang Wei" alike), kept only when something else agrees too — company (without 有限公司 and the like),
  city or birthday — since a common name alone says little.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kehu.accounts.access import scope_q, scope_terms
from kehu.accounts.models import User
from kehu.accounts.roles import Action
from kehu.core.address import parse_address
from kehu.core.normalize import NormalisationError, normalize_id_number
from kehu.customers.models import Address, ContactKind, ContactPoint, Customer
from kehu.customers.rendering import masked_name, may_see_names
from kehu.customers.search_index import newest_matches
from kehu.customers.selectors import customers_for_user
from kehu.customers.services import contact_value_index, contact_value_normalize, id_number_index
from kehu.dedup.linkage import company_core, name_forms

NAME_CANDIDATES = 50  # customers with the same-sounding name looked at, newest first
CITY_CANDIDATES = 2_000  # …and, when a city was entered, those of so many more who have an address there
SHOWN = 5

_KEY_REASONS: dict[str, str] = {
    ContactKind.MOBILE: gettext_noop("same mobile"),
    ContactKind.PHONE: gettext_noop("same phone"),
    ContactKind.EMAIL: gettext_noop("same email"),
}


@dataclass
class Candidate:
    customer: Customer
    reasons: list[str] = field(default_factory=list)
    keys: int = 0  # how many keys agree: a key outweighs any number of softer signs

    @property
    def rank(self) -> tuple[int, int, int]:
        return (-self.keys, -len(self.reasons), -self.customer.pk)


@dataclass(frozen=True)
class Entered:
    """What the person typed so far; any part may be empty."""

    name: str = ""
    company: str = ""
    contacts: Sequence[tuple[str, str]] = ()  # (kind, raw value)
    address: str = ""
    city: str = ""
    birthday: dt.date | None = None
    id_number: str = ""

    @classmethod
    def of(cls, customer: Customer, points: Sequence[ContactPoint], places: Sequence[Address]) -> Entered:
        """A customer's own values (saved, or built from an import row) as the check reads them."""
        return cls(
            name=customer.display_name,
            company=customer.company_name,
            contacts=[(point.kind, point.value) for point in points],
            city=places[0].city if places else "",
            birthday=customer.birthday,
            id_number=customer.id_number,
        )


def likely_duplicates(actor: User, entered: Entered, *, exclude: int | None = None) -> list[Candidate]:
    """Customers the user may see that are probably the one entered, strongest first, each with its reasons."""
    base = customers_for_user(actor, Action.VIEW).filter(erased_at__isnull=True)
    if exclude is not None:
        base = base.exclude(pk=exclude)
    found: dict[int, Candidate] = {}

    def add(customer: Customer, reason: str, *, key: bool) -> None:
        candidate = found.setdefault(customer.pk, Candidate(customer))
        if reason not in candidate.reasons:
            candidate.reasons.append(reason)
            candidate.keys += int(key)

    indexes: dict[str, str] = {}
    for kind, raw in entered.contacts:
        if kind in _KEY_REASONS and raw.strip():
            try:
                value = contact_value_normalize(kind, raw)
            except NormalisationError:
                continue  # the form says what is wrong with it; nothing to look up
            indexes[contact_value_index(kind, value)] = kind
    if indexes:
        # From the few contact points with these values to their customers, scope applied on the join: a
        # `customer__in=<scope>` subquery made SQLite list a rep's 300,000 customers on every check.
        points = ContactPoint.objects.filter(
            scope_q(actor, prefix="customer__"),
            value_index__in=indexes,
            customer__merged_into__isnull=True,
            customer__erased_at__isnull=True,
        ).select_related("customer")
        if exclude is not None:
            points = points.exclude(customer_id=exclude)
        for point in points[: SHOWN * 4]:
            add(point.customer, _(_KEY_REASONS[indexes[point.value_index]]), key=True)
    if entered.id_number.strip():
        try:
            index = id_number_index(normalize_id_number(entered.id_number))
        except NormalisationError:
            index = ""
        if index:
            for customer in base.filter(id_number_index=index)[:SHOWN]:
                add(customer, _("same ID number"), key=True)

    forms = name_forms(entered.name)
    if forms is not None:
        core = company_core(entered.company) if entered.company else ""
        city = entered.city or (parse_address(entered.address).city if entered.address else "")
        wide = CITY_CANDIDATES if city else NAME_CANDIDATES
        ids = newest_matches(base, forms.pinyin, scope=scope_terms(actor), limit=wide)
        if len(ids) > NAME_CANDIDATES:
            # A common name (王芳: thousands in a million customers): beyond the newest, only those in the city.
            older = ids[NAME_CANDIDATES:]
            in_city = set(
                Address.objects.filter(customer_id__in=older, city=city).values_list("customer_id", flat=True)
            )
            ids = ids[:NAME_CANDIDATES] + [customer_id for customer_id in older if customer_id in in_city]
        people = base.filter(id__in=ids).prefetch_related("addresses")
        for customer in people:
            theirs = name_forms(customer.display_name, customer.family_name, customer.given_name)
            if theirs is None or (theirs.pinyin != forms.pinyin and theirs.sorted != forms.sorted):
                continue
            also = []
            if core and customer.company_name and company_core(customer.company_name) == core:
                also.append(_("same company"))
            if city and any(place.city == city for place in customer.addresses.all()):
                also.append(_("same city"))
            if entered.birthday and customer.birthday == entered.birthday:
                also.append(_("same birthday"))
            if also or customer.pk in found:
                add(customer, _("same name") if theirs.chars == forms.chars else _("name sounds the same"), key=False)
                for reason in also:
                    add(customer, reason, key=False)
    return sorted(found.values(), key=lambda candidate: candidate.rank)[:SHOWN]


def candidates_out(actor: User, candidates: Sequence[Candidate]) -> list[dict[str, object]]:
    """The candidates as the API and the pages show them: names masked for roles that may not see them."""
    names = may_see_names(actor)
    return [
        {
            "id": candidate.customer.public_id,
            "display_name": masked_name(candidate.customer.display_name, names),
            "company_name": candidate.customer.company_name,
            "reasons": candidate.reasons,
        }
        for candidate in candidates
    ]
