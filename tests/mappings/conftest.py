from __future__ import annotations

import pytest

from mappings import load_terminology
from mappings.terminology import Terminology


@pytest.fixture(scope="session")
def term() -> Terminology:
    return load_terminology()
