"""The audit viewer's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.audit.models import AuditEvent

SOURCES = (("", _("Any")), ("web", _("Pages")), ("api", "API"), ("cli", _("Command line")), ("system", _("System")))


class AuditFilterForm(forms.Form):
    event = forms.ChoiceField(label=_("Event"), required=False, choices=[("", _("Any")), *AuditEvent.choices])
    actor = forms.CharField(label=_("User"), required=False, max_length=150)
    customer = forms.UUIDField(label=_("Customer id"), required=False)
    target_type = forms.CharField(label=_("Object type"), required=False, max_length=40)
    target_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    source = forms.ChoiceField(label=_("Through"), required=False, choices=SOURCES)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
