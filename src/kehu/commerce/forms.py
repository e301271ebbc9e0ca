"""Forms of the product and order pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.commerce.models import OrderChannel, OrderStatus, Product

LINE_ROWS = 5


class OrderFilterForm(forms.Form):
    customer = forms.UUIDField(required=False, widget=forms.HiddenInput)
    q = forms.CharField(label=_("Order number"), required=False, max_length=40)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any")), *OrderStatus.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any")), *OrderChannel.choices])
    placed_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    placed_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or SKU"), required=False, max_length=100)
    category = forms.CharField(label=_("Category"), required=False, max_length=100)
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)


class OrderForm(forms.Form):
    """A new order: channel, date and up to five lines (product and quantity); prices come from the products."""

    channel = forms.ChoiceField(label=_("Channel"), choices=OrderChannel.choices, initial=OrderChannel.SALES)
    placed_at = forms.DateTimeField(
        label=_("Placed at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    status = forms.ChoiceField(label=_("Status"), choices=OrderStatus.choices, initial=OrderStatus.CONFIRMED)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active = Product.objects.filter(active=True).order_by("name")[:500]
        products = [("", "—"), *((p.sku, f"{p.name} ({p.sku})") for p in active)]
        for row in range(LINE_ROWS):
            self.fields[f"product_{row}"] = forms.ChoiceField(
                label=_("Product %(n)d") % {"n": row + 1}, required=False, choices=products
            )
            self.fields[f"quantity_{row}"] = forms.IntegerField(
                label=_("Quantity"), required=False, min_value=1, max_value=1_000_000
            )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"product_{row}"], self[f"quantity_{row}"]) for row in range(LINE_ROWS)]

    def lines(self) -> list[tuple[str, int]]:
        chosen = []
        for row in range(LINE_ROWS):
            sku = self.cleaned_data.get(f"product_{row}")
            if sku:
                chosen.append((sku, self.cleaned_data.get(f"quantity_{row}") or 1))
        return chosen
