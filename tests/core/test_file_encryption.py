"""Files sealed by kehu (backups): any size round-trips; a changed, reordered, cut or extended file, or the
wrong key, is refused with a reason instead of giving back wrong data."""

from __future__ import annotations

import io
import os

import pytest

from kehu.core.crypto import DecryptionError, Keyring, KeyringError, file_decrypt, file_encrypt

KEY_A = ("a1", bytes(range(32)))
KEY_B = ("b1", bytes(range(1, 33)))
RING = Keyring(keys=(KEY_A,), index_key=bytes(32))
CHUNK = 64


def seal(data: bytes, ring: Keyring = RING) -> bytes:
    out = io.BytesIO()
    assert file_encrypt(ring, io.BytesIO(data), out, chunk=CHUNK) == ring.current_id
    return out.getvalue()


def unseal(sealed: bytes, ring: Keyring = RING) -> bytes:
    out = io.BytesIO()
    file_decrypt(ring, io.BytesIO(sealed), out)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 7])
def test_round_trip_of_every_size(size: int) -> None:
    data = os.urandom(size)
    sealed = seal(data)
    assert size < 16 or data not in sealed
    assert unseal(sealed) == data


def test_each_file_has_its_own_key_and_hides_its_content() -> None:
    data = "张三 13812345678 SQLite format 3".encode() * 10
    first, second = seal(data), seal(data)
    assert first != second
    assert b"13812345678" not in first
    assert "张三".encode() not in first


def test_an_old_key_still_opens_and_an_unknown_key_is_named() -> None:
    sealed = seal(b"x" * 200)
    rotated = Keyring(keys=(KEY_B, KEY_A), index_key=bytes(32))
    assert unseal(sealed, rotated) == b"x" * 200
    with pytest.raises(KeyringError, match="a1"):
        unseal(sealed, Keyring(keys=(KEY_B,), index_key=bytes(32)))


def _chunks(sealed: bytes) -> tuple[bytes, list[bytes]]:
    header_length = 8 + 1 + sealed[8] + 16
    header, rest, parts = sealed[:header_length], sealed[header_length:], []
    while rest:
        length = 4 + int.from_bytes(rest[:4], "big")
        parts.append(rest[:length])
        rest = rest[length:]
    return header, parts


SEALED = seal(os.urandom(3 * CHUNK + 5))
HEADER, PARTS = _chunks(SEALED)
FLIPPED = bytearray(SEALED)
FLIPPED[len(HEADER) + 10] ^= 1
BROKEN = {
    "altered": bytes(FLIPPED),
    "reordered": HEADER + PARTS[1] + PARTS[0] + PARTS[2] + PARTS[3],
    "last part dropped": HEADER + b"".join(PARTS[:3]),
    "cut mid-part": SEALED[:-3],
    "extended": SEALED + PARTS[3],
    "not kehu": b"SQLite format 3\x00" + SEALED,
}


def test_the_sample_has_four_parts_and_opens() -> None:
    assert len(PARTS) == 4
    assert len(unseal(SEALED)) == 3 * CHUNK + 5


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_tampering_is_refused(name: str) -> None:
    with pytest.raises(DecryptionError):
        unseal(BROKEN[name])
