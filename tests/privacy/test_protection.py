"""Encrypted columns hold no plaintext; lookups survive key rotation; only "reveal" shows values in full."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType, Role, role_allows
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.core.crypto import key_decode
from kehu.core.fields import keyring
from kehu.customers.models import ContactPoint, Customer
from kehu.privacy.keys import keys_rotate, keys_status
from tests.conftest import Api, errors_of, make_user

PHONE, PHONE_E164 = "13812345678", "+8613812345678"
ID_NUMBER, BANK = "11010519491231002X", "6222021234567891234"
EMAIL, STREET = "zhang.san@example.com", "科技园路1号"
SECRETS = (PHONE, ID_NUMBER, BANK, EMAIL, STREET)

NEW_KEY = ("k3", key_decode("dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS10aHJlZS0=", name="k3"))


def _create(api: Api) -> dict[str, Any]:
    response = api.post(
        "/customers",
        {
            "display_name": "张三",
            "id_number": ID_NUMBER,
            "bank_account": "6222 0212 3456 7891 234",
            "birthday": "1949-12-31",
            "contact_points": [{"kind": "mobile", "value": PHONE}, {"kind": "email", "value": EMAIL}],
            "addresses": [{"raw": f"广东省深圳市南山区{STREET}"}],
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def _database_bytes(tmp_path: Path) -> bytes:
    """Every byte the database holds: the SQLite file (VACUUM INTO), or a pg_dump of the test database."""
    if connection.vendor == "sqlite":
        target = tmp_path / "copy.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(target)])
        return target.read_bytes()
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed; .ci/run runs on a machine that has it")
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    command = ["pg_dump", "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
    command += ["-U", settings["USER"] or "postgres", "--data-only", settings["NAME"]]
    return subprocess.run(command, env=env, capture_output=True, check=True).stdout


def _standalone(raw: bytes, digits: bytes) -> list[bytes]:
    """Where `digits` stand alone: not inside a longer number, a fraction, or a hex or base64 run."""
    pattern = re.compile(rb"(?<![0-9A-Za-z.+/])" + re.escape(digits) + rb"(?![0-9A-Za-z+/=])")
    return [raw[max(0, m.start() - 40) : m.end() + 40] for m in pattern.finditer(raw)]


def test_standalone_digits_are_told_from_chance_matches() -> None:
    assert _standalone(b"\t138****5678\t", b"5678") == [b"\t138****5678\t"]
    assert _standalone(b'{"suffix": "5678"}', b"5678")
    chance = b"2026-11-23 06:01:24.567862+00\t24.5678+00\t\\x0a5678ff\tenc1:k2:Ab5678+/=\t1356789"
    assert _standalone(chance, b"5678") == []


@pytest.mark.django_db(transaction=True)
def test_encrypted_columns_hold_no_plaintext_and_lookups_still_work(as_alice: Api, tmp_path: Path) -> None:
    # Given a customer with a phone, email, address, ID and bank number saved through the API
    created = _create(as_alice)
    # when the whole database is read as bytes
    raw = _database_bytes(tmp_path)
    # then none of the values is there in clear, in any form
    for secret in (*SECRETS, PHONE_E164, "1949-12-31"):
        assert secret.encode() not in raw, secret
    # nor the phone's last four digits on their own (a suffix column, a masked "138****5678"), which a
    # timestamp's microseconds or a hex/base64 run may hold by chance and so do not count
    assert _standalone(raw, b"5678") == [], "the phone's last four digits are stored in clear"
    assert b"enc1:k2:" in raw
    # and exact lookups, duplicate checks and the phone-suffix search still work through the blind indexes
    assert [c["id"] for c in as_alice.get("/search", q="尾号5678").json()] == [created["id"]]
    assert [c["id"] for c in as_alice.get("/search", q=EMAIL).json()] == [created["id"]]
    again = as_alice.post(f"/customers/{created['id']}/contact-points", {"kind": "mobile", "value": "138 1234 5678"})
    assert errors_of(again) == {"value": "+8613812345678 is already on this customer"}
    twin = as_alice.post("/customers", {"display_name": "张三二", "id_number": ID_NUMBER.lower()})
    assert errors_of(twin) == {"id_number": "another customer has this ID number: the same person?"}


@pytest.mark.django_db(transaction=True)
def test_rotation_is_resumable_and_keeps_lookups(as_alice: Api) -> None:
    # Given customers encrypted under k2
    created = [_create_numbered(as_alice, n) for n in range(5)]
    with override_settings(KEHU_ENCRYPTION_KEYS=(NEW_KEY, *keyring().keys)):
        # when a rotation to k3 dies after its first batch
        def crash(table: str, done: int, total: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            keys_rotate(batch_size=2, progress=crash)
        half = {(s.table, s.column): s.counts for s in keys_status()}
        assert half[("customers_address", "street")] == {"k3": 2, "k2": 3}
        # and is run again
        converted = keys_rotate(batch_size=2)
        # then it converts only what was left, and every value is under k3
        assert converted["customers_address"] == 3
        assert converted["customers_contactpoint"] == 10
        for status in keys_status():
            assert set(status.counts) <= {"k3", "empty"}, status
        # and with the old keys gone from the configuration, values read and lookups work
        with override_settings(KEHU_ENCRYPTION_KEYS=(NEW_KEY,)):
            for number, customer in enumerate(created):
                found = as_alice.get("/search", q=f"1380000000{number}").json()
                assert [c["id"] for c in found] == [customer["id"]]
                shown = as_alice.post(f"/customers/{customer['id']}/reveal", {"fields": ["contact_points"]}).json()
                assert {p["kind"]: p["value"] for p in shown["contact_points"]}["mobile"] == f"+861380000000{number}"
    # the interrupted run audited nothing; the finished one audited its counts
    [rotated] = AuditRecord.objects.filter(event=AuditEvent.KEYS_ROTATED)
    assert rotated.extra["converted"]["customers_contactpoint"] == 10


def _create_numbered(api: Api, number: int) -> dict[str, Any]:
    response = api.post(
        "/customers",
        {
            "display_name": f"客户{number}",
            "contact_points": [
                {"kind": "mobile", "value": f"1380000000{number}"},
                {"kind": "email", "value": f"c{number}@example.com"},
            ],
            "addresses": [{"raw": f"北京市朝阳区建国路{number}号"}],
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.mark.django_db
def test_turning_contact_encryption_off_and_on_converts_and_reindexes(as_alice: Api) -> None:
    created = _create(as_alice)
    plain = frozenset({"address", "birthday", "id_number", "bank_account"})
    with override_settings(KEHU_ENCRYPTED_FIELDS=plain):
        keys_rotate()
        stored = Customer.objects.get(public_id=created["id"]).search_document
        assert "13812345678" in stored.split()
        assert [c["id"] for c in as_alice.get("/search", q="zhang.san@exa").json()] == [created["id"]]
    keys_rotate()
    assert "13812345678" not in Customer.objects.get(public_id=created["id"]).search_document
    assert [c["id"] for c in as_alice.get("/search", q="5678").json()] == [created["id"]]


NO_REVEAL = [role for role in Role if not role_allows(role, ObjectType.CUSTOMER, Action.REVEAL)]


@pytest.mark.django_db
@pytest.mark.parametrize("role", NO_REVEAL)
def test_a_role_without_reveal_never_sees_a_full_value(
    role: Role, as_alice: Api, api_for: Callable[[User], Api]
) -> None:
    created = _create(as_alice)
    as_alice.post("/interactions", {"customer": created["id"], "kind": "call", "subject": "回访"})
    viewer = api_for(make_user("viewer", role))
    before = AuditRecord.objects.filter(event=AuditEvent.PERSONAL_DATA_REVEALED).count()
    responses = [
        viewer.get(f"/customers/{created['id']}"),
        viewer.get("/customers"),
        viewer.get("/search", q="5678"),
        viewer.get(f"/customers/{created['id']}/contact-points"),
        viewer.get(f"/customers/{created['id']}/addresses"),
        viewer.get(f"/customers/{created['id']}/timeline"),
        viewer.get("/audit"),
        viewer.get("/audit/export"),
        viewer.post(f"/customers/{created['id']}/reveal", {"fields": ["contact_points"]}),
    ]
    for response in responses:
        for secret in (*SECRETS, PHONE_E164, "1949-12-31"):
            assert secret.encode() not in response.content, (response.request["PATH_INFO"], secret)
    assert responses[-1].status_code in (403, 404)
    assert AuditRecord.objects.filter(event=AuditEvent.PERSONAL_DATA_REVEALED).count() == before


@pytest.mark.django_db
def test_every_reveal_is_audited_and_sensitive_numbers_need_their_own_permission(
    as_alice: Api, alice: User, east: Any, api_for: Callable[[User], Api]
) -> None:
    created = _create(as_alice)
    shown = as_alice.get(f"/customers/{created['id']}").json()
    assert (shown["id_number"], shown["bank_account"], shown["birthday"]) == (
        "110***********002X",
        "***************1234",
        "1949-**-**",
    )
    revealed = as_alice.post(f"/customers/{created['id']}/reveal", {"fields": ["contact_points", "birthday"]})
    assert revealed.status_code == 200
    assert revealed["Cache-Control"] == "no-store"
    assert {p["value"] for p in revealed.json()["contact_points"]} == {PHONE_E164, EMAIL}
    assert revealed.json()["birthday"] == "1949-12-31"
    record = AuditRecord.objects.filter(event=AuditEvent.PERSONAL_DATA_REVEALED).get()
    assert (record.actor, record.fields, record.target_id) == (alice, ["birthday", "contact_points"], created["id"])
    assert PHONE not in str(record.extra) + str(record.fields)
    refused = as_alice.post(f"/customers/{created['id']}/reveal", {"fields": ["id_number"]})
    assert refused.status_code == 403
    assert AuditRecord.objects.filter(event=AuditEvent.PERSONAL_DATA_REVEALED).count() == 1
    manager = api_for(make_user("boss", Role.MANAGER, east))
    numbers = manager.post(f"/customers/{created['id']}/reveal", {"fields": ["id_number", "bank_account"]}).json()
    assert (numbers["id_number"], numbers["bank_account"]) == (ID_NUMBER, BANK)
    assert AuditRecord.objects.filter(event=AuditEvent.PERSONAL_DATA_REVEALED).count() == 2


@pytest.mark.django_db
def test_bad_numbers_are_refused_with_the_reason(as_alice: Api) -> None:
    response = as_alice.post(
        "/customers", {"display_name": "王五", "id_number": "110105194912310021", "bank_account": "62-22"}
    )
    assert errors_of(response) == {
        "id_number": "the ID card number's check digit does not match: a digit is mistyped",
        "bank_account": "a bank account number has 8 to 30 digits; this has 4",
    }
    assert not Customer.objects.filter(display_name="王五").exists()
    assert ContactPoint.objects.count() == 0
