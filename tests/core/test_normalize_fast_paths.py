"""The fast paths of phone and email normalisation agree with libphonenumber and email_validator on every input
they take; what they do not take goes to the libraries themselves."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kehu.core.normalize import (
    NormalisationError,
    cn_mobile_e164,
    email_by_validator,
    normalize_email,
    normalize_phone,
    phone_by_libphonenumber,
)


def _outcome(function, *args):  # type: ignore[no-untyped-def]
    try:
        return function(*args)
    except NormalisationError:
        return "refused"


mobiles = st.from_regex(r"(\+86|0086)?1[0-9]{10}", fullmatch=True)


@settings(max_examples=1500, deadline=None)
@given(mobiles)
@example("13812345678")
@example("14012345678")  # a range that is not a mobile one
@example("+8619912345678")
@example("008616612345678")
def test_the_mobile_fast_path_agrees_with_libphonenumber(text: str) -> None:
    fast = cn_mobile_e164(text)
    slow = _outcome(phone_by_libphonenumber, text, text, "CN")
    if fast is not None:
        assert fast == slow
    assert _outcome(normalize_phone, text) == slow


local_part = st.from_regex(r"[A-Za-z0-9._%+!#'~-]{1,70}", fullmatch=True)
domain = st.from_regex(r"([A-Za-z0-9-]{1,12}\.){1,3}[A-Za-z0-9-]{1,8}", fullmatch=True)


@settings(max_examples=1500, deadline=None)
@given(local_part, domain)
@example("Zhang.San", "Example.COM")
@example("a..b", "x.cn")
@example("a", "b.local")
@example("a", "xn--bcher-kva.example")
@example("x", "123.456")
def test_the_email_fast_path_agrees_with_email_validator(local: str, host: str) -> None:
    text = f"{local}@{host}"
    assert _outcome(normalize_email, text) == _outcome(email_by_validator, text)
