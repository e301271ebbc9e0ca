"""Field encryption (AES-256-GCM with a key id beside each value) and keyed blind indexes (HMAC-SHA256).

A stored encrypted value reads `enc1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id says which
key decrypts it, so several keys can be in use while `kehu keys rotate` moves every value to the newest.
The associated data binds a ciphertext to its table and column: a value copied into another column does
not decrypt. Keys come from the environment (or a key file), never from the database.

A blind index is an HMAC of a normalised value under a key of its own, which does not change when the
encryption keys rotate: exact lookups, duplicate checks and the phone-suffix search compare indexes, never
plaintext. Keys are parsed here without Django so that settings can fail loudly on a bad one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1:"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,15}$")


class KeyringError(ValueError):
    """A configured key is malformed, or a value names a key kehu does not have."""


class DecryptionError(ValueError):
    """A stored value cannot be decrypted: wrong key, or the value was altered."""


def key_decode(text: str, *, name: str) -> bytes:
    """A 32-byte key written in base64 (standard or URL-safe, padding optional)."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_") + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise KeyringError(f"{name} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"{name} must be {KEY_BYTES} bytes (44 base64 characters), not {len(raw)} bytes")
    return raw


def key_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def key_generate() -> str:
    return key_encode(os.urandom(KEY_BYTES))


def keyring_parse(text: str, *, name: str = "KEHU_ENCRYPTION_KEYS") -> tuple[tuple[str, bytes], ...]:
    """Parse `id:key, id:key …` (commas or new lines): the first key encrypts, every key decrypts."""
    entries = [item.strip() for item in re.split(r"[,\n]", text) if item.strip() and not item.strip().startswith("#")]
    if not entries:
        raise KeyringError(f"{name} holds no key; write it as key-id:base64-key")
    keys: list[tuple[str, bytes]] = []
    for entry in entries:
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise KeyringError(f"{name}: {key_id or entry[:8]!r} is not key-id:base64-key (ids: a-z, 0-9, _ and -)")
        if any(key_id == existing for existing, _ in keys):
            raise KeyringError(f"{name}: the key id {key_id} appears twice")
        keys.append((key_id, key_decode(encoded, name=f"{name} key {key_id}")))
    return tuple(keys)


@dataclass(frozen=True)
class Keyring:
    """The encryption keys (the first is current) and the blind-index key."""

    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for candidate, raw in self.keys:
            if candidate == key_id:
                return raw
        raise KeyringError(f"no configured key has the id {key_id}; add it to KEHU_ENCRYPTION_KEYS to read this value")


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and str(stored).startswith(PREFIX)


def key_id_of(stored: str) -> str:
    return stored[len(PREFIX) :].split(":", 1)[0]


def encrypt(keyring: Keyring, plaintext: str, *, context: str) -> str:
    """Encrypt under the current key; `context` (table.column) is authenticated but not stored."""
    key_id, key = keyring.keys[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"


def decrypt(keyring: Keyring, stored: str, *, context: str) -> str:
    body = stored[len(PREFIX) :]
    key_id, _, encoded = body.partition(":")
    key = keyring.key(key_id)
    try:
        blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(f"a value in {context} does not decrypt with key {key_id}: altered or moved") from None


def blind_index(keyring: Keyring, domain: str, value: str) -> str:
    """A 128-bit keyed hash of `value` in `domain` (e.g. "contact:mobile"), as 32 hex characters."""
    return _blind(keyring.index_key, domain, value)


@lru_cache(maxsize=65536)
def _blind(index_key: bytes, domain: str, value: str) -> str:
    return hmac.new(index_key, f"{domain}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]
