"""CDS Hooks 2.0 request and feedback models.

Requests tolerate unknown fields and `extension` (the spec reserves it and clients add their own).
Only the envelope is validated here: `prefetch` and `draftOrders` stay plain dicts for the lenient
readers in `mappings`, because full FHIR validation of input is slow and EHR data is imperfect.
Validation messages name the field and never echo its value (values may be patient data).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_MAX_ID = 256
# Feedback bounds: a batch of at most this many items, each of bounded size (a comment of at
# most a paragraph), so that one request stores kilobytes, not megabytes.
MAX_FEEDBACK_ITEMS = 50
MAX_COMMENT_CHARS = 1000
MAX_ACCEPTED_SUGGESTIONS = 20


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Lenient):
    # RFC 6750 bearer tokens are visible ASCII; anything else cannot go in an HTTP header.
    access_token: str = Field(min_length=1, max_length=16_384, pattern=r"^[\x21-\x7e]+$")
    token_type: str = "Bearer"
    # The Sandbox may omit expires_in when its auth server does (cds-hooks/sandbox#65).
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback
        return "FhirAuthorization(access_token=<redacted>)"

    __str__ = __repr__


class HookRequest(_Lenient):
    hook: str = Field(min_length=1, max_length=_MAX_ID)
    hookInstance: str = Field(min_length=1, max_length=_MAX_ID)
    fhirServer: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


class _Context(_Lenient):
    userId: str = Field(min_length=1, max_length=_MAX_ID)
    patientId: str = Field(min_length=1, max_length=_MAX_ID)
    encounterId: str | None = Field(default=None, max_length=_MAX_ID)


class PatientViewContext(_Context):
    pass


class OrderSignContext(_Context):
    draftOrders: dict[str, Any]


class OrderSelectContext(OrderSignContext):
    selections: list[str]


CONTEXT_MODELS: dict[str, type[_Context]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class _Tolerant(BaseModel):
    """Feedback tolerates unknown fields but does not keep them: only the spec's fields are
    stored, so the stored row (and its dedupe hash) cannot carry arbitrary client data."""

    model_config = ConfigDict(extra="ignore")


class FeedbackCoding(_Tolerant):
    code: str = Field(min_length=1, max_length=_MAX_ID)
    system: str | None = Field(default=None, max_length=2048)
    display: str | None = Field(default=None, max_length=1024)


class OverrideReasonFeedback(_Tolerant):
    reason: FeedbackCoding | None = None
    userComment: str | None = Field(default=None, max_length=MAX_COMMENT_CHARS)

    @model_validator(mode="after")
    def _something(self) -> OverrideReasonFeedback:
        if self.reason is None and not self.userComment:
            raise ValueError("overrideReason needs a reason, a userComment or both")
        return self


class AcceptedSuggestion(_Tolerant):
    id: str = Field(min_length=1, max_length=_MAX_ID)


class FeedbackItem(_Tolerant):
    card: str = Field(min_length=1, max_length=_MAX_ID)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(
        default=None, max_length=MAX_ACCEPTED_SUGGESTIONS
    )
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: datetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # The spec asks for UTC; a timestamp without an offset is read as UTC.
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 has no UTC equivalent
            raise ValueError("outcomeTimestamp is out of range") from None

    @model_validator(mode="after")
    def _accepted_has_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted outcome needs acceptedSuggestions")
        return self


class FeedbackRequest(_Tolerant):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)


def describe_errors(exc: ValidationError, prefix: str = "") -> str:
    """A readable list of what is wrong and where, without the offending values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in error["loc"])
        where = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "body"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
