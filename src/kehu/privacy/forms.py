"""Forms of the privacy pages: consent, data-subject requests and retention. Rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kehu.privacy.models import (
    ConsentPurpose,
    LegalBasis,
    RetentionAction,
    RetentionDataType,
    SubjectRequestKind,
    SubjectRequestStatus,
)

CHANNELS = (
    ("", _("Every channel")),
    ("email", _("Email")),
    ("sms", _("SMS")),
    ("phone", _("Phone")),
    ("wechat", _("WeChat")),
    ("post", _("Post")),
)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNELS, required=False)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=LegalBasis.choices, initial=LegalBasis.CONSENT)
    source = forms.CharField(
        label=_("Where it was given"), max_length=100, help_text=_("e.g. sign-up form on the website, phone call")
    )
    wording = forms.CharField(
        label=_("Wording the person agreed to"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ConsentWithdrawForm(forms.Form):
    purpose = forms.ChoiceField(choices=ConsentPurpose.choices, widget=forms.HiddenInput)
    channel = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    source = forms.CharField(label=_("How the person withdrew"), max_length=100)


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Request"), choices=SubjectRequestKind.choices)
    received_through = forms.CharField(
        label=_("Received through"), max_length=100, help_text=_("e.g. email to privacy@, phone call, letter")
    )
    details = forms.CharField(
        label=_("Details"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SubjectRequestCloseForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Close as"),
        choices=[(SubjectRequestStatus.COMPLETED, _("Completed")), (SubjectRequestStatus.REJECTED, _("Rejected"))],
    )
    outcome = forms.CharField(
        label=_("What was done, or why it was refused"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SubjectRequestEraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand: this person's data is anonymised everywhere and cannot be brought back."), required=True
    )


class SubjectRequestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *SubjectRequestStatus.choices]
    )
    kind = forms.ChoiceField(label=_("Request"), required=False, choices=[("", _("Any")), *SubjectRequestKind.choices])


class RetentionRuleForm(forms.Form):
    data_type = forms.ChoiceField(label=_("Data"), choices=RetentionDataType.choices)
    months = forms.IntegerField(label=_("After months without activity"), min_value=1, max_value=1200)
    action = forms.ChoiceField(label=_("Then"), choices=RetentionAction.choices)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
