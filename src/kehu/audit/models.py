"""The append-only, hash-chained audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", _("Customer created")
    CUSTOMER_UPDATED = "customer.updated", _("Customer updated")
    CUSTOMER_ARCHIVED = "customer.archived", _("Customer archived")
    CUSTOMER_RESTORED = "customer.restored", _("Customer restored")
    CUSTOMER_TAGGED = "customer.tagged", _("Tag added")
    CUSTOMER_UNTAGGED = "customer.untagged", _("Tag removed")
    CONTACT_POINT_ADDED = "contact_point.added", _("Contact point added")
    CONTACT_POINT_UPDATED = "contact_point.updated", _("Contact point updated")
    CONTACT_POINT_REMOVED = "contact_point.removed", _("Contact point removed")
    ADDRESS_ADDED = "address.added", _("Address added")
    ADDRESS_UPDATED = "address.updated", _("Address updated")
    ADDRESS_REMOVED = "address.removed", _("Address removed")
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_UPDATED = "order.updated", _("Order updated")
    ORDER_RETURNED = "order.returned", _("Return recorded")
    INTERACTION_LOGGED = "interaction.logged", _("Interaction logged")
    INTERACTION_UPDATED = "interaction.updated", _("Interaction updated")
    PRODUCT_CREATED = "product.created", _("Product created")
    PRODUCT_UPDATED = "product.updated", _("Product updated")
    TAG_CREATED = "tag.created", _("Tag created")
    CUSTOM_FIELD_DEFINED = "custom_field.defined", _("Custom field defined")
    CUSTOM_FIELD_UPDATED = "custom_field.updated", _("Custom field updated")
    TOKEN_CREATED = "token.created", _("API token created")
    TOKEN_REVOKED = "token.revoked", _("API token revoked")
    DEMO_LOADED = "demo.loaded", _("Demo data loaded")
    USER_SIGNED_IN = "user.signed_in", _("Signed in")
    USER_SIGN_IN_FAILED = "user.sign_in_failed", _("Sign-in failed")
    USER_LOCKED_OUT = "user.locked_out", _("Sign-in refused: locked out")
    USER_SIGNED_OUT = "user.signed_out", _("Signed out")
    SESSION_EXPIRED = "user.session_expired", _("Session expired")
    PERMISSION_DENIED = "permission.denied", _("Permission denied")
    USER_TWO_FACTOR_ENROLLED = "user.two_factor_enrolled", _("Two-factor sign-in set up")
    USER_TWO_FACTOR_FAILED = "user.two_factor_failed", _("Two-factor code refused")
    USER_PASSWORD_CHANGED = "user.password_changed", _("Password changed")
    USER_REAUTHENTICATED = "user.reauthenticated", _("Password confirmed again")
    USER_DEACTIVATED = "user.deactivated", _("User disabled; sessions ended")
    USER_TWO_FACTOR_RESET = "user.two_factor_reset", _("Two-factor sign-in reset")
    USER_CONTACT_CHANGED = "user.contact_changed", _("Own email or phone changed")
    PERSONAL_DATA_REVEALED = "personal_data.revealed", _("Personal data revealed")
    CONSENT_GIVEN = "consent.given", _("Consent given")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    SUBJECT_REQUEST_OPENED = "subject_request.opened", _("Data-subject request opened")
    SUBJECT_REQUEST_CLOSED = "subject_request.closed", _("Data-subject request closed")
    SUBJECT_DATA_EXPORTED = "subject_request.exported", _("Personal data exported for its subject")
    CUSTOMER_ERASED = "customer.erased", _("Customer erased (anonymised)")
    RETENTION_RULE_SET = "retention.rule_set", _("Retention rule set")
    RETENTION_APPLIED = "retention.applied", _("Retention rule applied")
    KEYS_ROTATED = "keys.rotated", _("Encryption keys rotated")
    CUSTOMERS_EXPORTED = "customers.exported", _("Customer list exported")
    DUPLICATES_SEARCHED = "customers.duplicates_searched", _("Duplicate customers searched for")
    ANALYTICS_RUN = "analytics.run", _("Customer analytics computed")
    CUSTOMERS_MERGED = "customer.merged", _("Customers merged")
    MERGE_UNDONE = "customer.merge_undone", _("Merge undone")
    DUPLICATES_DISMISSED = "customers.not_same", _("Marked as not the same customer")
    DEDUP_POLICY_SET = "dedup.policy_set", _("Duplicate handling settings changed")


class AuditRecord(models.Model):
    """One audited event. Stores ids and field names, never copies of personal data.

    `record_hash` = SHA-256 over this record's content and `previous_hash`, so editing, deleting or
    reordering any record breaks the chain from that point on.
    """

    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=40, choices=AuditEvent.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    fields = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=20, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.event}"


class AuditChainHead(models.Model):
    """A single row holding the chain's last sequence and hash; locking it serialises appends."""

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain head #{self.last_sequence}"
