"""CDS Hooks 2.0 response models: Card, Suggestion, Action, Link, Source, Coding.

They live in `cards` because the rules build them; `service` serialises them. Each model enforces
the spec's invariants when it is built, so a rule cannot emit an invalid card, and `dump()` drops
null and empty optional fields as the spec requires (`cards: []` stays).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Indicator = Literal["info", "warning", "critical"]
INDICATOR_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Coding(_Model):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class OverrideReason(Coding):
    """A Coding offered on dismissal: the spec requires a human-readable `display`."""

    display: str = Field(min_length=1)


class Source(_Model):
    label: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^https?://")
    icon: str | None = Field(default=None, pattern=r"^https?://")
    topic: Coding | None = None


class Link(_Model):
    label: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    type: Literal["absolute", "smart"]
    appContext: str | None = None

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")
        return self


class Action(_Model):
    """One change to the EHR; `resource` is FHIR JSON without null or empty values."""

    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _shape_per_type(self) -> Action:
        if self.type == "delete":
            if not self.resourceId or self.resource is not None:
                raise ValueError("a delete action carries resourceId and no resource")
        elif not self.resource or "resourceType" not in self.resource:
            raise ValueError(f"a {self.type} action carries a FHIR resource")
        return self


class Suggestion(_Model):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: tuple[Action, ...] = ()


class Card(_Model):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: tuple[Suggestion, ...] = ()
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: tuple[OverrideReason, ...] = ()
    links: tuple[Link, ...] = ()

    @model_validator(mode="after")
    def _invariants(self) -> Card:
        if self.selectionBehavior is None:
            if self.suggestions:
                raise ValueError("selectionBehavior is required when there are suggestions")
        elif (
            self.selectionBehavior == "at-most-one"
            and sum(1 for s in self.suggestions if s.isRecommended) > 1
        ):
            raise ValueError("at-most-one allows at most one recommended suggestion")
        return self

    def dump(self) -> dict[str, Any]:
        """The card as JSON, without null or empty fields.

        The same dict as `model_dump(mode="json", exclude_defaults=True)` (every optional field
        defaults to None or (), so leaving out defaults drops exactly those), written out by hand:
        pydantic's serialiser cost more, most of it inferring the types of the free-form action
        resources (docs/performance.md, figures behind the code). Those are dumped as they are:
        `cards.resources.proposal`, which builds every one of them, emits only JSON values and no
        null or empty one (tests/cards/test_card_json.py checks every card of every sample
        against `model_dump`).
        """
        out: dict[str, Any] = {} if self.uuid is None else {"uuid": self.uuid}
        out["summary"] = self.summary
        if self.detail is not None:
            out["detail"] = self.detail
        out["indicator"] = self.indicator
        out["source"] = _source(self.source)
        if self.suggestions:
            out["suggestions"] = [_suggestion(s) for s in self.suggestions]
        if self.selectionBehavior is not None:
            out["selectionBehavior"] = self.selectionBehavior
        if self.overrideReasons:
            out["overrideReasons"] = [_coding(r) for r in self.overrideReasons]
        if self.links:
            out["links"] = [_link(k) for k in self.links]
        return out


# The JSON of each model, leaving out fields at their default (None or ()), in field order.


def _coding(c: Coding) -> dict[str, Any]:
    out = {"system": c.system, "code": c.code}
    if c.display is not None:
        out["display"] = c.display
    return out


def _source(s: Source) -> dict[str, Any]:
    out: dict[str, Any] = {"label": s.label}
    if s.url is not None:
        out["url"] = s.url
    if s.icon is not None:
        out["icon"] = s.icon
    if s.topic is not None:
        out["topic"] = _coding(s.topic)
    return out


def _link(k: Link) -> dict[str, Any]:
    out = {"label": k.label, "url": k.url, "type": k.type}
    if k.appContext is not None:
        out["appContext"] = k.appContext
    return out


def _action(a: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"type": a.type, "description": a.description}
    if a.resource is not None:
        out["resource"] = a.resource
    if a.resourceId is not None:
        out["resourceId"] = a.resourceId
    return out


def _suggestion(s: Suggestion) -> dict[str, Any]:
    out: dict[str, Any] = {"label": s.label}
    if s.uuid is not None:
        out["uuid"] = s.uuid
    if s.isRecommended is not None:
        out["isRecommended"] = s.isRecommended
    if s.actions:
        out["actions"] = [_action(a) for a in s.actions]
    return out


def sort_cards(cards: list[Card]) -> list[Card]:
    """Critical first, then warning, then info; stable within an indicator."""
    return sorted(cards, key=lambda c: INDICATOR_ORDER[c.indicator])


def response_body(cards: list[Card], system_actions: list[Action] | None = None) -> dict[str, Any]:
    """The JSON object of a successful hook response.

    System actions go both where CDS Hooks 2.0 puts them (`systemActions`) and where the PAMA
    guide and the Sandbox read them (`extension.systemActions`); they are the same updates."""
    body: dict[str, Any] = {"cards": [c.dump() for c in cards]}
    if system_actions:
        dumped = [_prune(a.model_dump(mode="json")) for a in system_actions]
        body["systemActions"] = dumped
        body["extension"] = {"systemActions": dumped}
    return body


def _prune(value: Any) -> Any:
    """Drop None, empty lists and empty objects, recursively (spec: no null, no empty)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or v == [] or v == {}:
                continue
            out[k] = v
        return out
    if isinstance(value, list | tuple):
        return [_prune(v) for v in value]
    return value
