"""No phone, email or ID number reaches a log handler in the clear."""

from __future__ import annotations

import logging
import logging.config

import pytest
from django.conf import settings

from kehu.core.logging import mask_personal


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("+86 138-1234-5678", "138****5678"),
        ("mail Zhang.San@Example.com", "mail Z***@Example.com"),
        ("id 110101199003071234", "id 110101********1234"),
        ("id 11010119900307123X", "id 110101********123X"),
        ("order SO20260105-ABCDEF1234 total 3369.00", "order SO20260105-ABCDEF1234 total 3369.00"),
        ("customer 6f1c2b0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "customer 6f1c2b0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


def test_configured_handlers_mask(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(settings.LOGGING)
    logging.getLogger("kehu.test").warning("could not reach %s at %s", "zhang.san@qq.com", "13812345678")
    err = capsys.readouterr().err
    assert "could not reach z***@qq.com at 138****5678" in err
    assert "13812345678" not in err
