"""Clinical cards for back pain in MS: which cards a pain profile earns, and their content.

`cards_for` is the one entry point the service calls. It is a pure function of the profile and the
draft orders: no I/O, and static content (wording, codes, validated FHIR templates) is built once at
import.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from cards.model import Card, sort_cards
from cards.orders import order_cards
from cards.patient_view import patient_view_cards
from mappings.profile import DraftOrder, PainProfile

__all__ = ["ORDER_HOOKS", "PATIENT_VIEW", "cards_for"]

PATIENT_VIEW = "patient-view"
ORDER_HOOKS = frozenset({"order-select", "order-sign"})
_PORTAL_USERS = ("Patient/", "RelatedPerson/")


def cards_for(
    hook: str,
    profile: PainProfile,
    *,
    patient_id: str,
    user_id: str | None,
    orders: Iterable[DraftOrder] = (),
    today: date | None = None,
) -> list[Card]:
    """The cards for one hook call, sorted critical, warning, info.

    No cards outside scope: a patient without MS, a deceased patient, a portal user (patient or
    related person), an unknown hook, or no patient id. `today` defaults to the local date; it
    only matters for the 6-week imaging window.
    """
    pid = patient_id or profile.patient_id
    if not pid or not profile.has_ms or profile.deceased:
        return []
    if isinstance(user_id, str) and user_id.startswith(_PORTAL_USERS):
        return []
    if hook == PATIENT_VIEW:
        return sort_cards(patient_view_cards(profile, pid))
    if hook in ORDER_HOOKS:
        return sort_cards(order_cards(profile, pid, tuple(orders), today or date.today()))
    return []
