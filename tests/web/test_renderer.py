"""The form renderer builds the common widgets in Python; its HTML must be Django's, byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from kehu.web.renderer import FastWidgetRenderer

CHOICES = [("", "任意"), ("a", "<b>甲</b>"), ("b&c", 'say "乙"'), (3, 3)]
GROUPED = [("组一 & 二", [("x", "X"), ("y", "Y")]), ("z", "Z")]


class EveryWidget(forms.Form):
    text = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"placeholder": '<"名字">', "autofocus": True}))
    empty = forms.CharField(required=False)
    search = forms.CharField(widget=forms.TextInput(attrs={"type": "search", "data-off": False}))
    email = forms.EmailField()
    number = forms.IntegerField(min_value=1, max_value=5)
    decimal = forms.DecimalField(max_digits=8, decimal_places=2)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    when = forms.DateTimeField()
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(widget=forms.HiddenInput)
    flag = forms.BooleanField(required=False)
    url = forms.URLField(assume_scheme="https")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    choice = forms.ChoiceField(choices=CHOICES)
    grouped = forms.ChoiceField(choices=GROUPED)
    many = forms.MultipleChoiceField(choices=CHOICES[1:])
    columns = forms.MultipleChoiceField(choices=CHOICES[1:], widget=forms.CheckboxSelectMultiple)  # via template
    typed = forms.TypedChoiceField(choices=((25, "25"), (50, "50")), coerce=int)


BOUND = {
    "text": "张三 <script>alert(1)</script>",
    "search": "zhang & san",
    "email": "a@b.cn",
    "number": "3",
    "decimal": "1234.50",
    "day": "2026-01-05",
    "when": "2026-01-05 08:30",
    "secret": 'p"w<d>',
    "hidden": "h&i",
    "flag": "on",
    "url": "https://example.com/?a=1&b=2",
    "note": "第一行\n<b>第二行</b>",
    "choice": "b&c",
    "grouped": "y",
    "many": ["a", "3"],
    "columns": ["b&c"],
    "typed": "50",
}


@pytest.mark.parametrize("data", [None, BOUND], ids=["unbound", "bound"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_widget_renders_as_django_does(data: dict[str, object] | None, language: str) -> None:
    from django.utils import translation

    with translation.override(language):
        form = EveryWidget(data, initial={"day": dt.date(2026, 3, 1), "number": 2, "note": mark_safe("<i>安全</i>")})
        for field in form:
            field.form.renderer = DjangoTemplates()
            expected = str(field)
            field.form.renderer = FastWidgetRenderer()
            assert str(field) == expected, field.name


def test_the_settings_use_it() -> None:
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), FastWidgetRenderer)
