"""Card and suggestion ids are RFC 4122 version-5 uuids: `cards.build.uuid5` equals the stdlib's."""

from __future__ import annotations

import uuid

import pytest

from cards.build import uuid5


@pytest.mark.parametrize(
    "name",
    [
        "",
        "pat-1\nfirst-line\nCondition/1|back_pain|http://snomed.info/sct|279039007",
        "ibuprofen",
        "é ü 中文 \u2028",
        "x" * 5000,
    ],
)
@pytest.mark.parametrize(
    "namespace",
    [
        uuid.NAMESPACE_URL,
        uuid.UUID("6f3c7a52-2b8e-5d43-9a0f-1c2d3e4f5a6b"),
        uuid.UUID(int=0),
        uuid.UUID(int=2**128 - 1),
    ],
)
def test_uuid5_is_the_stdlib_uuid5(namespace: uuid.UUID, name: str) -> None:
    assert uuid5(namespace.bytes, name) == str(uuid.uuid5(namespace, name))
