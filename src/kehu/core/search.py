"""Search tokens for Chinese-aware customer search, shared by the SQLite FTS5 and PostgreSQL indexes.

A customer's search document is a space-separated list of tokens that only hold lower-case ASCII letters,
digits and Han characters, so that no database parser has to understand Chinese:

* Han text (simplified with OpenCC) as every suffix of each run, so a prefix query finds any substring:
  张三丰 → 张三丰, 三丰, 丰;
* pinyin of names, full and initials (张三 → zhangsan, zs), with each reading of a surname;
* ASCII words and their concatenation (John Smith → john, smith, johnsmith);
* phone numbers in E.164 and national digits, plus the national number reversed behind an "r", so
  the last digits (尾号) are a prefix query too: 5678 → r8765*.

A query is split the same way; every query term is a prefix match and all terms must match.

When contact values are encrypted (KEHU_ENCRYPTED_FIELDS holds "contact"), the document must not hold them
in clear either: phones, emails and messaging handles become blind tokens instead — "h" and 20 hex digits
of a keyed hash — of each phone's prefixes and suffixes of three digits or more (so 尾号 5678 and 138 1234
still match, exactly), of each full email, its local part and its domain, and of each handle. A query adds the same
blind tokens as alternatives, so one query finds values indexed either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kehu.core.chinese import half_width, has_han, pinyin_initials, pinyin_readings, to_simplified
from kehu.core.fields import group_encrypted, index_of, indexes_of

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Words people put before the last digits of a phone: 尾号5678, 手机尾号 5678, 后四位5678.
_SUFFIX_WORDS = re.compile(r"(手机|电话)?(尾号|后四位|末四位)")
_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9\s\-()]*$")
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE_LIKE = re.compile(r"^[a-z0-9][a-z0-9_\-.]+$")
_MAX_HAN_TOKEN = 10
_MAX_ASCII_TOKEN = 40
_MAX_QUERY_TERMS = 8
_MIN_SUFFIX_DIGITS = 3


def _clean(text: str) -> str:
    return to_simplified(half_width(text)).lower()


def _han_suffixes(run: str) -> Iterable[str]:
    for start in range(len(run)):
        yield run[start : start + _MAX_HAN_TOKEN]


def text_tokens(text: str, *, with_pinyin: bool = False) -> set[str]:
    """Tokens for a name, company or handle."""
    clean = _clean(text)
    tokens: set[str] = set()
    ascii_words: list[str] = []
    for run in _RUN.findall(clean):
        if has_han(run):
            tokens.update(_han_suffixes(run))
            if with_pinyin:
                tokens.update(reading[:_MAX_ASCII_TOKEN] for reading in pinyin_readings(run))
                tokens.update(pinyin_initials(run))
        else:
            tokens.add(run[:_MAX_ASCII_TOKEN])
            ascii_words.append(run)
    if len(ascii_words) > 1:
        tokens.add("".join(ascii_words)[:_MAX_ASCII_TOKEN])
    if with_pinyin and len(_HAN_RUN.findall(clean)) > 1:
        # "张 三" written with a space still reads zhangsan / zs.
        joined = "".join(_HAN_RUN.findall(clean))
        tokens.update(reading[:_MAX_ASCII_TOKEN] for reading in pinyin_readings(joined))
        tokens.update(pinyin_initials(joined))
    return tokens


def contacts_blinded() -> bool:
    """Whether contact values are encrypted, so the search document holds blind tokens of them."""
    return group_encrypted("contact")


def blind_token(kind: str, text: str) -> str:
    """A search token that matches `text` exactly without revealing it: "d" digit strings, "e" emails/handles."""
    return "h" + index_of(f"search:{kind}", text)[:20]


def blind_tokens(kind: str, texts: Sequence[str]) -> list[str]:
    """`blind_token` of many texts of one kind."""
    return ["h" + index[:20] for index in indexes_of(f"search:{kind}", texts)]


def phone_tokens(e164: str, *, blinded: bool = False) -> set[str]:
    """Tokens for a phone in E.164 form: full digits, national digits, and the national digits reversed."""
    digits = e164.lstrip("+")
    national = digits[2:] if digits.startswith("86") else digits
    if not blinded:
        return {digits, national, "r" + national[::-1]}
    parts = {digits, national}
    for length in range(_MIN_SUFFIX_DIGITS, len(national)):
        parts.update((national[:length], national[-length:]))
    return set(blind_tokens("d", list(parts)))


def email_tokens(email: str, *, blinded: bool = False) -> set[str]:
    local, _, domain = email.lower().partition("@")
    if blinded:
        # The domain finds everyone from one company (acme.com); it names no one by itself.
        return {blind_token("e", email.lower()), blind_token("e", local), blind_token("e", domain)}
    tokens = set(_RUN.findall(_clean(email)))
    tokens.add(re.sub(r"[^a-z0-9]", "", local.lower())[:_MAX_ASCII_TOKEN])
    return {token for token in tokens if token}


def build_document(
    *,
    names: Iterable[str] = (),
    texts: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    handles: Iterable[str] = (),
) -> str:
    """The search document: names get pinyin; texts (companies) do not; phones, emails and handles their own tokens."""
    blinded = contacts_blinded()
    tokens: set[str] = set()
    for name in names:
        if name:
            tokens |= text_tokens(name, with_pinyin=True)
    for text in texts:
        if text:
            tokens |= text_tokens(text)
    for handle in handles:
        if handle:
            tokens |= {blind_token("e", handle.lower())} if blinded else text_tokens(handle)
    for phone in phones:
        if phone:
            tokens |= phone_tokens(phone, blinded=blinded)
    for email in emails:
        if email:
            tokens |= email_tokens(email, blinded=blinded)
    return " ".join(sorted(token for token in tokens if token))


@dataclass(frozen=True)
class QueryTerm:
    """One query term: it matches a document when any of `prefixes` is a prefix of one of its tokens."""

    prefixes: tuple[str, ...]


def parse_query(query: str) -> list[QueryTerm]:
    """Split what the user typed into terms; an empty list means there is nothing to search for."""
    clean = _SUFFIX_WORDS.sub(" ", _clean(query)).strip()
    if not clean:
        return []
    blinded = contacts_blinded()
    if _PHONE_LIKE.fullmatch(clean) and sum(char.isdigit() for char in clean) >= _MIN_SUFFIX_DIGITS:
        return [_digits_term(re.sub(r"\D", "", clean), blinded=blinded)]
    if blinded and _EMAIL_LIKE.fullmatch(clean):
        return [QueryTerm((blind_token("e", clean),))]
    terms: list[QueryTerm] = []
    for chunk in clean.split():
        runs = _RUN.findall(chunk)
        if blinded and len(runs) > 1 and _HANDLE_LIKE.fullmatch(chunk):
            # A WeChat id such as wx_zhang-01 is one handle, matched whole.
            terms.append(QueryTerm((blind_token("e", chunk),)))
            continue
        for run in runs:
            if has_han(run):
                terms.append(QueryTerm((run[:_MAX_HAN_TOKEN],)))
            elif run.isdigit() and len(run) >= _MIN_SUFFIX_DIGITS:
                terms.append(_digits_term(run, blinded=blinded))
            else:
                blind = (blind_token("e", run),) if blinded else ()
                terms.append(QueryTerm((run[:_MAX_ASCII_TOKEN], *blind)))
    terms = _merge_spaced_letters(clean, terms, blinded=blinded)
    return terms[:_MAX_QUERY_TERMS]


def _digits_term(digits: str, *, blinded: bool) -> QueryTerm:
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    plain = (digits[:_MAX_ASCII_TOKEN], ("r" + digits[::-1])[:_MAX_ASCII_TOKEN])
    # A QQ number is a handle made of digits: its blind token is an email/handle one.
    return QueryTerm((*plain, blind_token("d", digits), blind_token("e", digits)) if blinded else plain)


def _merge_spaced_letters(clean: str, terms: list[QueryTerm], *, blinded: bool) -> list[QueryTerm]:
    """ "zhang san" and "john smith" are one name typed with a space: search their concatenation."""
    chunks = clean.split()
    if len(chunks) > 1 and all(chunk.isascii() and chunk.isalpha() for chunk in chunks):
        joined = "".join(chunks)
        return [QueryTerm((joined[:_MAX_ASCII_TOKEN], *((blind_token("e", joined),) if blinded else ())))]
    return terms


def fts5_expression(terms: list[QueryTerm]) -> str:
    """An FTS5 MATCH expression; tokens hold only [a-z0-9] and Han, so quoting is safe."""
    parts = []
    for term in terms:
        alternatives = " OR ".join(f'"{prefix}"*' for prefix in term.prefixes)
        parts.append(f"({alternatives})" if len(term.prefixes) > 1 else alternatives)
    return " AND ".join(parts)


def tsquery_expression(terms: list[QueryTerm]) -> str:
    """A PostgreSQL tsquery literal with quoted lexemes, so no text-search parser touches the Chinese."""
    parts = []
    for term in terms:
        alternatives = " | ".join(f"'{prefix}':*" for prefix in term.prefixes)
        parts.append(f"({alternatives})" if len(term.prefixes) > 1 else alternatives)
    return " & ".join(parts)
