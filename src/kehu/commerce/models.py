"""Products, orders with their lines, and returns."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import PublicIdModel, TimeStampedModel
from kehu.core.money import DECIMAL_PLACES, MAX_DIGITS


class Product(TimeStampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    price = models.DecimalField(_("price"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    active = models.BooleanField(_("active"), default=True)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class OrderChannel(models.TextChoices):
    WEBSITE = "website", _("Website")
    ECOMMERCE = "ecommerce", _("E-commerce platform")
    APP = "app", _("App")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    SALES = "sales", _("Sales rep")
    DISTRIBUTOR = "distributor", _("Distributor")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    UNPAID = "unpaid", _("Unpaid")
    OVERDUE = "overdue", _("Overdue")
    REFUNDED = "refunded", _("Refunded")


class Order(PublicIdModel):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(_("order number"), max_length=40, unique=True)
    channel = models.CharField(_("channel"), max_length=20, choices=OrderChannel.choices)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED)
    placed_at = models.DateTimeField(_("placed at"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    subtotal = models.DecimalField(_("subtotal"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    discount = models.DecimalField(
        _("discount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, default=Decimal("0.00")
    )
    total = models.DecimalField(_("total"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    payment_due = models.DateField(_("payment due"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_system = models.CharField(_("source system"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "-placed_at"], name="order_customer_placed")]
        constraints = [
            # An order synced from a platform (webhook) is recorded once, however often it is sent.
            models.UniqueConstraint(
                fields=["source_system", "external_id"], condition=~Q(external_id=""), name="order_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    line_total = models.DecimalField(_("line total"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)

    def __str__(self) -> str:
        return f"{self.order_id}:{self.product_id}×{self.quantity}"


class OrderReturn(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="returns")
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("refund amount"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    returned_at = models.DateTimeField(_("returned at"))

    def __str__(self) -> str:
        return f"return of {self.line_id}"
