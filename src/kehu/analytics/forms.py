"""The form marketing uses to enter what each channel cost in a month."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import SourceChannel


class MonthField(forms.DateField):
    """A month typed as YYYY-MM (the browser's month picker) or as a date; kept as its first day."""

    widget = forms.DateInput(attrs={"type": "month"})
    input_formats = ["%Y-%m", "%Y-%m-%d", "%Y/%m", "%Y年%m月"]

    def to_python(self, value: str | dt.date | None) -> dt.date | None:
        day = super().to_python(value)
        return day.replace(day=1) if day else None


class SpendForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=SourceChannel.choices)
    month = MonthField(label=_("Month"))
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0, max_digits=14, decimal_places=2)


class RunForm(forms.Form):
    rfm_months = forms.TypedChoiceField(
        label=_("RFM over"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("the whole history")), (12, _("the last 12 months")), (24, _("the last 24 months")),
                 (36, _("the last 36 months"))],
    )  # fmt: skip
    clusters = forms.TypedChoiceField(
        label=_("Customer groups"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("as many as separate best")), *((k, str(k)) for k in range(2, 9))],
    )
