"""Forms of the import pages: the upload, and the mapping with the choices of how to import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kehu.customers.bulk import LikelyPolicy, MatchPolicy
from kehu.ingest.mapping import IGNORE, Target
from kehu.ingest.models import ErrorPolicy, ImportType

ENCODINGS = (
    ("", _("Detected")),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 with BOM (Excel “CSV UTF-8”)")),
    ("gb18030", _("GB18030 / GBK (Excel “CSV” on Chinese Windows)")),
    ("big5", "Big5"),
    ("utf-16", "UTF-16"),
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK) or Excel .xlsx; the first sheet, with a header row"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
    import_type = forms.ChoiceField(label=_("What the rows are"), choices=ImportType.choices)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.KEHU_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("the file is larger than %(limit)s MB") % {"limit": settings.KEHU_UPLOAD_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class MappingForm(forms.Form):
    """One select per column of the file (named col_<index>), then how to import."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    policy = forms.ChoiceField(
        label=_("A row whose phone, email or external id matches an existing customer"),
        choices=MatchPolicy.choices,
        initial=MatchPolicy.FILL_BLANKS,
        widget=forms.RadioSelect,
    )
    duplicates = forms.ChoiceField(
        label=_(
            "A row matching no key but probably an existing customer (same-sounding name and company, city or birthday)"
        ),
        choices=LikelyPolicy.choices,
        initial=LikelyPolicy.CREATE,
        required=False,  # a form posted without it (an older page, a script) creates, as before
        widget=forms.RadioSelect,
    )
    on_error = forms.ChoiceField(
        label=_("Rows with errors"), choices=ErrorPolicy.choices, initial=ErrorPolicy.SKIP, widget=forms.RadioSelect
    )
    source_system = forms.CharField(
        label=_("Source system"),
        max_length=50,
        required=False,
        help_text=_("where the file comes from (e.g. tmall, fair-2026); external ids are unique per source"),
    )
    save_as = forms.CharField(
        label=_("Save this mapping as"), max_length=100, required=False, help_text=_("optional template name")
    )

    def __init__(self, *args: Any, headers: Sequence[str], targets: Mapping[str, Target], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        choices = [(IGNORE, _("— do not import —")), *((key, str(target.label)) for key, target in targets.items())]
        for index, header in enumerate(self.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                widget=forms.Select(attrs={"aria-label": _("Field for column %(column)s") % {"column": header}}),
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {header: self.cleaned_data.get(f"col_{index}") or IGNORE for index, header in enumerate(self.headers)}
