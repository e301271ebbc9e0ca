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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

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
    sealed = _aead(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{PREFIX}{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"


@lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    """One cipher object per key: building it expands the key schedule."""
    return AESGCM(key)


def decrypt(keyring: Keyring, stored: str, *, context: str) -> str:
    body = stored[len(PREFIX) :]
    key_id, _, encoded = body.partition(":")
    key = keyring.key(key_id)
    try:
        blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return _aead(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode("utf-8")).decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(f"a value in {context} does not decrypt with key {key_id}: altered or moved") from None


def blind_index(keyring: Keyring, domain: str, value: str) -> str:
    """A 128-bit keyed hash of `value` in `domain` (e.g. "contact:mobile"), as 32 hex characters."""
    return _blind(keyring.index_key, domain, value)


def blind_indexes(keyring: Keyring, domain: str, values: Iterable[str]) -> list[str]:
    """`blind_index` of many values of one domain (a phone's search tokens), without the cache."""
    keyed = _keyed_domain(keyring.index_key, domain)
    return [_finish(keyed, value) for value in values]


@lru_cache(maxsize=65536)
def _blind(index_key: bytes, domain: str, value: str) -> str:
    return _finish(_keyed_domain(index_key, domain), value)


def _finish(keyed: Any, value: str) -> str:
    each = keyed.copy()
    each.update(value.encode())
    return str(each.hexdigest()[:32])


@lru_cache(maxsize=64)
def _keyed_domain(index_key: bytes, domain: str) -> Any:
    """The HMAC with the key's pads and `domain\\x00` already absorbed, so that each value only adds its own bytes;
    the C object inside it when there is one (copying it costs a third of copying the Python wrapper)."""
    keyed = hmac.new(index_key, digestmod=hashlib.sha256)
    keyed.update(f"{domain}\x00".encode())
    return getattr(keyed, "_hmac", None) or keyed


# ---- files (backups) ---------------------------------------------------------------------------------------------
# A file is sealed in chunks so that a backup of any size streams through a fixed amount of memory:
#   MAGIC ‖ len(key id) ‖ key id ‖ salt(16) ‖ { len(chunk)(4, big-endian) ‖ AES-256-GCM(chunk) }…
# The file key is HKDF-SHA256(the keyring key, salt, "kehu file v1"), new for every file, so the nonce can be
# the chunk counter with a final-chunk flag; the header is the associated data of every chunk. Reordered,
# dropped, altered or appended chunks, and a file cut short, all fail to decrypt.

FILE_MAGIC = b"KEHUENC1"
FILE_CHUNK = 1 << 20
_SALT_BYTES = 16


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=b"kehu file v1").derive(key)
    return AESGCM(derived)


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(NONCE_BYTES - 1, "big") + (b"\x01" if last else b"\x00")


def file_encrypt(keyring: Keyring, source: BinaryIO, target: BinaryIO, *, chunk: int = FILE_CHUNK) -> str:
    """Seal `source` into `target` under the current key; returns the key id (recorded beside the file)."""
    key_id, key = keyring.keys[0]
    salt = os.urandom(_SALT_BYTES)
    header = FILE_MAGIC + bytes([len(key_id)]) + key_id.encode("ascii") + salt
    target.write(header)
    cipher = _file_key(key, salt)
    counter = 0
    block = source.read(chunk)
    while True:
        following = source.read(chunk)
        sealed = cipher.encrypt(_chunk_nonce(counter, not following), block, header)
        target.write(len(sealed).to_bytes(4, "big") + sealed)
        if not following:
            return key_id
        block, counter = following, counter + 1


def file_decrypt(keyring: Keyring, source: BinaryIO, target: BinaryIO) -> None:
    """Open a file sealed by `file_encrypt`, with whichever configured key its header names."""
    magic = source.read(len(FILE_MAGIC))
    if magic != FILE_MAGIC:
        raise DecryptionError("not a file encrypted by kehu")
    size = source.read(1)
    key_id = source.read(size[0] if size else 0).decode("ascii", errors="replace")
    salt = source.read(_SALT_BYTES)
    header = FILE_MAGIC + size + key_id.encode("ascii") + salt
    cipher = _file_key(keyring.key(key_id), salt)
    counter = 0
    while True:
        length = source.read(4)
        if len(length) != 4:
            raise DecryptionError("the encrypted file is cut short: its last part is missing")
        sealed = source.read(int.from_bytes(length, "big"))
        for last in (False, True):
            try:
                block = cipher.decrypt(_chunk_nonce(counter, last), sealed, header)
                break
            except InvalidTag:
                continue
        else:
            raise DecryptionError(f"part {counter + 1} of the encrypted file was altered, or the key is wrong")
        target.write(block)
        if last:
            if source.read(1):
                raise DecryptionError("data follows the last part of the encrypted file")
            return
        counter += 1
