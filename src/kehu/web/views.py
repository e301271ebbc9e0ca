"""Start page, sign-in and sign-out; the full web app comes with the pages issue."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts.signin import SignInStep, user_sign_out
from kehu.web.forms import SignInForm


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.sign_in():
        if form.step == SignInStep.CODE:
            return redirect("/accounts/two-factor/?" + urlencode({"next": next_url}))
        if form.step == SignInStep.SETUP:
            return redirect("/accounts/two-factor/setup/?" + urlencode({"next": next_url}))
        return redirect(next_url)
    return render(request, "web/login.html", {"form": form, "next": next_url}, status=200)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user_sign_out(request=request)
    return redirect("/")
