"""Masked forms of personal values for roles that may not see them in full."""

from __future__ import annotations


def mask_phone(e164: str) -> str:
    """+8613812345678 → 138****5678; the last four digits stay, because users search by them (尾号)."""
    digits = e164.lstrip("+")
    national = digits[2:] if digits.startswith("86") else digits
    if len(national) <= 7:
        return "*" * max(len(national) - 2, 0) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_text(value: str, keep: int = 1) -> str:
    """张三丰 → 张**; keeps the first character so the value can still be recognised."""
    if not value:
        return value
    return value[:keep] + "*" * max(len(value) - keep, 1)


def mask_contact(kind: str, value: str) -> str:
    if kind in {"mobile", "phone"}:
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return mask_text(value, keep=2)


def mask_id_number(value: str) -> str:
    """11010519491231002X → 110***********002X: the issuing region's first digits and the last four stay."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_bank_account(value: str) -> str:
    """6222021234567891234 → ***************1234: the last four identify the card to its holder."""
    return "*" * max(len(value) - 4, 0) + value[-4:] if len(value) > 4 else "*" * len(value)


def mask_birthday(value: str) -> str:
    """1990-05-17 → 1990-**-**: the year (an age band) stays, the day that identifies does not."""
    return value[:4] + "-**-**" if len(value) == 10 else "****-**-**"


def mask_name(value: str) -> str:
    """张三丰 → 张**, Zhang San → Z********: recognisable to someone who knows the person, little to others."""
    return mask_text(value, keep=1)
