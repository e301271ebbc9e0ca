"""The form renderer: Django's, with the widgets every page uses written in Python.

Django renders each widget from a template, and each option of a select from another included template. The
customer list's filter form has ten selects with some 130 options: through templates that alone cost ~10 ms of
a page. These functions produce byte-for-byte the HTML of Django's own templates (tests/web/test_renderer.py
compares them for every widget kind); any other widget, and any project override of these templates, goes to
the template as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

WIDGETS = "django/forms/widgets/"
INPUT_TYPES = (
    *("checkbox", "color", "date", "datetime", "email", "hidden", "number", "password", "search", "tel"),
    *("text", "time", "url"),
)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """attrs.html: a True value is a bare attribute, False leaves it out."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(value)}"')
    return "".join(parts)


def _input(widget: Mapping[str, Any]) -> str:
    value = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>"
    )


def _option(option: Mapping[str, Any]) -> str:
    label = conditional_escape(localize(option["label"]))
    return f'<option value="{conditional_escape(option["value"])}"{_attrs(option["attrs"])}>{label}</option>'


def _select(widget: Mapping[str, Any]) -> str:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(localize(group_name))}">')
        for option in group_choices:
            if option["template_name"] != f"{WIDGETS}select_option.html":
                raise LookupError(option["template_name"])  # a custom option template: render through it
            parts.append(f"\n  {_option(option)}\n")  # the included option template ends in a newline
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(widget: Mapping[str, Any]) -> str:
    value = conditional_escape(localize(widget["value"])) if widget["value"] else ""
    return f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


FAST: dict[str, Callable[[Mapping[str, Any]], str]] = {
    **{f"{WIDGETS}{kind}.html": _input for kind in INPUT_TYPES},
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}textarea.html": _textarea,
}


class FastWidgetRenderer(DjangoTemplates):
    """FORM_RENDERER: the common widgets in Python, everything else through Django's templates."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> SafeString:
        build = FAST.get(template_name)
        if build is not None and "widget" in context:
            try:
                return mark_safe(build(context["widget"]))  # noqa: S308 - every value above is escaped
            except LookupError:
                pass
        return mark_safe(super().render(template_name, context, request))  # noqa: S308 - Django's own output
