"""Terminology mappings: value sets as data, and the classifier that builds the pain profile.

Public entry points: `load_terminology()` (start-up), `classify()` (a patient's resources ->
`PainProfile`) and `classify_orders()` (draft orders -> `DraftOrder`s). Nothing here does I/O at
request time or imports `cards`/`service`.
"""

from mappings.classifier import classify
from mappings.errors import DataError
from mappings.loader import load_terminology
from mappings.orders import classify_orders
from mappings.profile import (
    DraftOrder,
    Duration,
    Evidence,
    Measurement,
    Medication,
    PainProfile,
    RedFlag,
)
from mappings.terminology import Terminology

__all__ = [
    "DataError",
    "DraftOrder",
    "Duration",
    "Evidence",
    "Measurement",
    "Medication",
    "PainProfile",
    "RedFlag",
    "Terminology",
    "classify",
    "classify_orders",
    "load_terminology",
]
