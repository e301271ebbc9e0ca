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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kehu.core.chinese import half_width, has_han, pinyin_initials, pinyin_readings, to_simplified

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Words people put before the last digits of a phone: 尾号5678, 手机尾号 5678, 后四位5678.
_SUFFIX_WORDS = re.compile(r"(手机|电话)?(尾号|后四位|末四位)")
_PHONE_LIKE = re.compile(r"^\+?[0-9][0-9\s\-()]*$")
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


def phone_tokens(e164: str) -> set[str]:
    """Tokens for a phone in E.164 form: full digits, national digits, and the national digits reversed."""
    digits = e164.lstrip("+")
    national = digits[2:] if digits.startswith("86") else digits
    return {digits, national, "r" + national[::-1]}


def email_tokens(email: str) -> set[str]:
    local = email.split("@", 1)[0]
    tokens = set(_RUN.findall(_clean(email)))
    tokens.add(re.sub(r"[^a-z0-9]", "", local.lower())[:_MAX_ASCII_TOKEN])
    return {token for token in tokens if token}


def build_document(
    *,
    names: Iterable[str] = (),
    texts: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
) -> str:
    """The search document: names get pinyin; texts (companies, handles) do not; phones and emails their own tokens."""
    tokens: set[str] = set()
    for name in names:
        if name:
            tokens |= text_tokens(name, with_pinyin=True)
    for text in texts:
        if text:
            tokens |= text_tokens(text)
    for phone in phones:
        if phone:
            tokens |= phone_tokens(phone)
    for email in emails:
        if email:
            tokens |= email_tokens(email)
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
    if _PHONE_LIKE.fullmatch(clean) and sum(char.isdigit() for char in clean) >= _MIN_SUFFIX_DIGITS:
        return [_digits_term(re.sub(r"\D", "", clean))]
    terms: list[QueryTerm] = []
    for chunk in clean.split():
        runs = _RUN.findall(chunk)
        for run in runs:
            if has_han(run):
                terms.append(QueryTerm((run[:_MAX_HAN_TOKEN],)))
            elif run.isdigit() and len(run) >= _MIN_SUFFIX_DIGITS:
                terms.append(_digits_term(run))
            else:
                terms.append(QueryTerm((run[:_MAX_ASCII_TOKEN],)))
    terms = _merge_spaced_letters(clean, terms)
    return terms[:_MAX_QUERY_TERMS]


def _digits_term(digits: str) -> QueryTerm:
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return QueryTerm((digits[:_MAX_ASCII_TOKEN], ("r" + digits[::-1])[:_MAX_ASCII_TOKEN]))


def _merge_spaced_letters(clean: str, terms: list[QueryTerm]) -> list[QueryTerm]:
    """ "zhang san" and "john smith" are one name typed with a space: search their concatenation."""
    chunks = clean.split()
    if len(chunks) > 1 and all(chunk.isascii() and chunk.isalpha() for chunk in chunks):
        return [QueryTerm(("".join(chunks)[:_MAX_ASCII_TOKEN],))]
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
