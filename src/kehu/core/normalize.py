"""One canonical form per value: phones (E.164), emails (lower-cased IDNA), names, messaging handles, dates, amounts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

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


@lru_cache(maxsize=1)
def _cn_mobile() -> re.Pattern[str]:
    """libphonenumber's own pattern of a valid mainland mobile number (national digits)."""
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region("CN")
    if metadata is None or metadata.mobile is None or not metadata.mobile.national_number_pattern:
        raise RuntimeError("libphonenumber has no mobile pattern for CN")
    return re.compile(metadata.mobile.national_number_pattern)


_CN_MOBILE_TYPED = re.compile(r"(?:\+86|0086)?(1\d{10})")


def cn_mobile_e164(text: str) -> str | None:
    """The E.164 form of a mainland mobile typed as digits (with +86 or 0086 or neither), by libphonenumber's
    pattern without parsing: the common case of an import, 20 times cheaper. None when it is not one."""
    match = _CN_MOBILE_TYPED.fullmatch(text)
    if match and _cn_mobile().fullmatch(match[1]):
        return "+86" + match[1]
    return None


def phone_digits(raw: str) -> str:
    """A phone number as typed, without spaces, dashes, brackets and dots, full-width digits made half-width."""
    return _PHONE_NOISE.sub("", half_width(raw)).strip()


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return the E.164 form (+8613812345678) of a phone number typed any usual way."""
    region = region or settings.KEHU_PHONE_REGION
    text = phone_digits(raw)
    if region == "CN" and (fast := cn_mobile_e164(text)) is not None:
        return fast
    return phone_by_libphonenumber(raw, text, region)


def phone_by_libphonenumber(raw: str, text: str, region: str) -> str:
    """The phone's E.164 form as libphonenumber gives it (also what the fast path must agree with)."""
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


_SIMPLE_EMAIL = re.compile(
    r"(?P<local>[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,63}))"
)


def normalize_email(raw: str) -> str:
    """Return the lower-cased address with an ASCII (IDNA) domain; raise with the validator's reason.

    A plain ASCII address (the common case) is checked by one pattern that accepts only what the validator
    accepts; anything else (international names, quotes, odd domains) goes through the validator itself."""
    text = half_width(raw).strip()
    lowered = text.lower()
    simple = _SIMPLE_EMAIL.fullmatch(lowered)
    if (
        simple
        and len(simple["local"]) <= 64
        and len(lowered) <= 254
        and "xn--" not in simple["domain"]
        and not _special_use(simple["domain"])
    ):
        return lowered
    return email_by_validator(text)


def email_by_validator(text: str) -> str:
    """The email's normal form as email_validator gives it (also what the fast path must agree with)."""
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


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_YMD = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_YMD_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DMY_NAMED = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]*([a-z]{3,9})\.?[\s\-/.,]*(\d{4})")
_MDY_NAMED = re.compile(r"([a-z]{3,9})\.?[\s\-/.]*(\d{1,2})(?:st|nd|rd|th)?[\s,]*(\d{4})")
_DMY_NUMERIC = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
# Excel counts days from 1899-12-30 (its 1900 leap-year bug included); 20000…80000 is 1954…2119.
EXCEL_EPOCH = dt.date(1899, 12, 30)


def normalize_date(raw: object) -> dt.date | None:
    """A date as people type it: 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, 5 Jan 2024,
    January 5, 2024, 05/01/2024 (day first, as in China and Europe), an Excel serial (45296), or a date cell.
    Empty → None; anything else raises with the reason."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _excel_serial(float(raw), str(raw))
    text = half_width(str(raw)).strip().lower()
    if not text:
        return None
    parts: tuple[int, int, int] | None = None
    if (match := _YMD.fullmatch(text)) or (match := _YMD_COMPACT.fullmatch(text)):
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif (match := _DMY_NAMED.fullmatch(text)) and match[2] in _MONTHS:
        parts = (int(match[3]), _MONTHS[match[2]], int(match[1]))
    elif (match := _MDY_NAMED.fullmatch(text)) and match[1] in _MONTHS:
        parts = (int(match[3]), _MONTHS[match[1]], int(match[2]))
    elif match := _DMY_NUMERIC.fullmatch(text):
        parts = (int(match[3]), int(match[2]), int(match[1]))
    elif re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _excel_serial(float(text), text)
    if parts is None:
        raise NormalisationError(
            _("%(value)s is not a date kehu recognises (write it as 2024-01-05 or 2024年1月5日)")
            % {"value": str(raw).strip()}
        )
    try:
        return dt.date(*parts)
    except ValueError:
        raise NormalisationError(_("%(value)s is not a real date") % {"value": str(raw).strip()}) from None


def _excel_serial(serial: float, shown: str) -> dt.date:
    if not 20000 <= serial < 80000:
        raise NormalisationError(
            _("%(value)s is not a date (as a spreadsheet date number it is out of range)") % {"value": shown}
        )
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


_AMOUNT_SIGNS = re.compile(r"^(?:[¥￥$€£]|rmb|cny|usd|eur|hkd|元)|(?:[¥￥$€£]|rmb|cny|usd|eur|hkd|元|块|圆)$")


def normalize_amount(raw: object) -> Decimal | None:
    """An amount as people type it: ¥1,234.50, 1 234,5 is refused (ambiguous), 1234元, RMB 88, (12.00) for a
    negative, 1.2万 (ten thousands). Empty → None."""
    if raw is None:
        return None
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        return Decimal(str(raw))
    text = half_width(str(raw)).strip().lower().replace(" ", "")
    if not text:
        return None
    negative = (text.startswith("(") and text.endswith(")")) or text.startswith("-")
    text = text.strip("()").lstrip("-")
    for _step in range(2):
        text = _AMOUNT_SIGNS.sub("", text).strip()
    scale = Decimal(1)
    if text.endswith("万"):
        text, scale = text[:-1], Decimal(10000)
    elif text.endswith("亿"):
        text, scale = text[:-1], Decimal(100000000)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise NormalisationError(_("%(value)s is not an amount") % {"value": str(raw).strip()})
    amount = Decimal(text) * scale
    return -amount if negative else amount


def _special_use(domain: str) -> bool:
    """Domains the validator refuses (RFC 6761 special-use names such as .local, .test, .invalid)."""
    import email_validator

    return any(domain == name or domain.endswith("." + name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
