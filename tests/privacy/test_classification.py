"""Every field of every model that describes a customer has a privacy decision, and the record of
processing is generated from those decisions."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from kehu.customers.models import Customer
from kehu.privacy.classification import CLASSIFICATION, Level, model_field_names, personal_fields


def _describes_customers(model: type[models.Model]) -> bool:
    if model is Customer:
        return True
    return any(
        isinstance(field, models.ForeignKey) and field.related_model in CLASSIFICATION
        for field in model._meta.get_fields()
        if field.concrete
    )


def test_every_model_about_customers_is_classified() -> None:
    unclassified = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label.startswith(("customers", "commerce", "interactions"))
        and _describes_customers(model)
        and model not in CLASSIFICATION
    ]
    assert unclassified == []


@pytest.mark.parametrize("model", list(CLASSIFICATION), ids=lambda model: model._meta.label)
def test_every_field_has_a_decision(model: type[models.Model]) -> None:
    assert set(CLASSIFICATION[model]) == model_field_names(model)


def test_sensitive_fields_are_the_ones_the_law_names() -> None:
    sensitive = {f"{model.__name__}.{name}" for model, name, _ in personal_fields(Level.SENSITIVE)}
    assert {"Customer.birthday", "ContactPoint.value", "ContactPoint.raw_value", "Address.street"} <= sensitive


@pytest.mark.django_db
def test_ropa_lists_categories_recipients_and_safeguards() -> None:
    out = StringIO()
    call_command("privacy", "ropa", stdout=out)
    text = out.getvalue()
    assert text.startswith("# Record of processing activities")
    assert "customers.Customer.birthday (sensitive)" in text
    assert (
        "customers.ContactPoint.raw_value (sensitive) (encrypted), customers.ContactPoint.value (sensitive) (encrypted)"
        in text
    )
    assert "Sales rep — records in scope: own" in text
    assert "hash-chained audit log" in text
