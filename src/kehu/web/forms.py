"""The sign-in form: the password check, throttling and auditing live in kehu.accounts.signin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kehu.accounts.signin import SignInRefused, SignInStep, user_sign_in


class SignInForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=4096)

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.step: SignInStep | None = None
        super().__init__(*args, **kwargs)

    def sign_in(self) -> bool:
        """Validate and sign in; on refusal the reason is a form error."""
        if not self.is_valid():
            return False
        try:
            self.step = user_sign_in(
                request=self.request,
                username=self.cleaned_data["username"],
                password=self.cleaned_data["password"],
            )
        except SignInRefused as refusal:
            self.add_error(None, refusal.message)
            return False
        return True
