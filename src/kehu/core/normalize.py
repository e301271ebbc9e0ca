"""One canonical form per value: phones (E.164), emails (lower-cased IDNA), names, messaging handles."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from kehu.core.chinese import half_width, is_han

_SPACES = re.compile(r"\s+")
_PHONE_NOISE = re.compile(r"[\s\-().·/]")
_WECHAT = re.compile(r"^[a-z][a-z0-9_-]{5,19}$")
_QQ = re.compile(r"^[1-9][0-9]{4,11}$")


class NormalisationError(ValueError):
    """The value cannot be put into canonical form; the message says why in words a user understands."""


def normalize_name(raw: str) -> str:
    """Trim, full-width → half-width, collapse spaces, and drop spaces between Han characters ("张 伟" → "张伟")."""
    text = _SPACES.sub(" ", half_width(raw)).strip()
    if " " not in text:
        return text
    kept: list[str] = []
    for index, char in enumerate(text):
        if char == " " and is_han(text[index - 1]) and index + 1 < len(text) and is_han(text[index + 1]):
            continue
        kept.append(char)
    return "".join(kept)


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form (+8613812345678) of a phone number typed any usual way."""
    region = region or settings.KEHU_PHONE_REGION
    text = _PHONE_NOISE.sub("", half_width(raw)).strip()
    if not text:
        raise NormalisationError(_("the phone number is empty"))
    if not re.fullmatch(r"\+?[0-9]+", text):
        raise NormalisationError(_("%(value)s contains characters that are not digits") % {"value": raw.strip()})
    if region == "CN":
        national = text
        for prefix in ("+86", "0086"):
            if national.startswith(prefix):
                national = national[len(prefix) :]
                break
        if national.startswith("1") and len(national) != 11:
            message = _("%(value)s has %(count)d digits; a mainland mobile has 11")
            raise NormalisationError(message % {"value": raw.strip(), "count": len(national)})
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise NormalisationError(_("%(value)s is not a phone number") % {"value": raw.strip()}) from None
    if not phonenumbers.is_valid_number(number):
        raise NormalisationError(_("%(value)s is not a valid phone number for its region") % {"value": raw.strip()})
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str:
    """Return the lower-cased address with an ASCII (IDNA) domain; raise with the validator's reason."""
    text = half_width(raw).strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise NormalisationError(
            _("%(value)s is not a valid email address: %(reason)s") % {"value": text, "reason": error}
        ) from None
    domain = result.ascii_domain or result.domain
    return f"{result.local_part.lower()}@{domain.lower()}"


def normalize_wechat(raw: str) -> str:
    text = half_width(raw).strip().lower()
    if not _WECHAT.fullmatch(text):
        message = _("%(value)s is not a WeChat ID: 6–20 letters, digits, _ or -, starting with a letter")
        raise NormalisationError(message % {"value": raw.strip()})
    return text


def normalize_qq(raw: str) -> str:
    text = half_width(raw).strip()
    if not _QQ.fullmatch(text):
        message = _("%(value)s is not a QQ number: 5–12 digits, not starting with 0")
        raise NormalisationError(message % {"value": raw.strip()})
    return text


def normalize_other(raw: str) -> str:
    text = _SPACES.sub(" ", half_width(raw)).strip()
    if not text:
        raise NormalisationError(_("the value is empty"))
    return text


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_id_number(raw: str) -> str:
    """A mainland resident identity card number (GB 11643-1999): 18 characters, the last a checksum (0-9 or X)."""
    text = _SPACES.sub("", half_width(raw)).upper()
    if not text:
        return ""
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise NormalisationError(
            _("an ID card number has 17 digits and a final digit or X; this has %(count)d") % {"count": len(text)}
        )
    expected = _ID_CHECK[sum(int(digit) * weight for digit, weight in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    if text[17] != expected:
        raise NormalisationError(_("the ID card number's check digit does not match: a digit is mistyped"))
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise NormalisationError(
            _("digits 7-14 of an ID card number are a birth date; %(value)s is not") % {"value": text[6:14]}
        ) from None
    return text


def normalize_bank_account(raw: str) -> str:
    """A bank card or account number: digits only (spaces and dashes dropped), 8 to 30 of them."""
    text = re.sub(r"[\s\-]", "", half_width(raw))
    if not text:
        return ""
    if not text.isdigit():
        raise NormalisationError(_("a bank account number holds digits only"))
    if not 8 <= len(text) <= 30:
        message = _("a bank account number has 8 to 30 digits; this has %(count)d")
        raise NormalisationError(message % {"count": len(text)})
    return text
