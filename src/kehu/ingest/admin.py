"""The administrator sets up lead capture forms and webhook sources here; submissions go through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import SourceChannel
from kehu.ingest.leadforms import ORIGIN
from kehu.ingest.models import LeadForm, LeadFormField
from kehu.privacy.models import ConsentPurpose


class LeadFormForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model keeps both lists as JSON; people tick boxes.
        for name, label, required in (("fields", _("fields"), True), ("required", _("required fields"), False)):
            self.fields[name] = forms.MultipleChoiceField(
                label=label, choices=LeadFormField.choices, widget=forms.CheckboxSelectMultiple, required=required
            )

    consent_purpose = forms.ChoiceField(
        label=_("consent asked for"), choices=[("", "—"), *ConsentPurpose.choices], required=False
    )
    source_channel = forms.ChoiceField(label=_("source channel"), choices=SourceChannel.choices)

    class Meta:
        model = LeadForm
        fields = (
            "name", "title", "intro", "fields", "required", "consent_purpose", "consent_text", "consent_required",
            "source_channel", "campaign", "owner", "thanks", "allowed_origins", "active",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not set(cleaned.get("fields") or []) & {"mobile", "email"}:
            self.add_error("fields", _("a form needs a mobile or an email field, so that the lead can be reached"))
        if set(cleaned.get("required") or []) - set(cleaned.get("fields") or []):
            self.add_error("required", _("only fields on the form can be required"))
        if cleaned.get("consent_purpose") and not (cleaned.get("consent_text") or "").strip():
            self.add_error("consent_text", _("say what the person agrees to, in the words they will read"))
        for origin in (cleaned.get("allowed_origins") or "").split():
            if not ORIGIN.fullmatch(origin):
                self.add_error("allowed_origins", _("sites are written https://… (the page is framed only over HTTPS)"))
        return cleaned


@admin.register(LeadForm)
class LeadFormAdmin(admin.ModelAdmin[LeadForm]):
    form = LeadFormForm
    list_display = ("name", "campaign", "owner", "active", "public_link")
    readonly_fields = ("public_link",)

    @admin.display(description=_("public address"))
    def public_link(self, obj: LeadForm) -> str:
        if not obj.pk:
            return "—"
        url = reverse("lead_form", args=[obj.key])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)
