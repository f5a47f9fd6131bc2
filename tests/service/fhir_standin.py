"""A small FHIR server standing in for Medplum/HAPI in the load-samples tests.

Like the servers `load-samples` must work with, it assigns its own ids (a create or an update
naming a client-chosen id is refused with "Invalid id"), wants a bearer token on every FHIR call,
answers errors with OperationOutcomes, implements conditional update (``PUT Type?identifier=``)
and conditional create (``POST`` with ``ifNoneExist``) in transactions, rewrites references to an
entry's ``fullUrl`` to the id it assigned, and refuses references to resources it does not hold.
A SMART Backend Services token endpoint verifies client assertions against registered public keys.

`atomic=False` makes it answer a transaction with per-entry statuses and outcomes instead of
failing it as a whole, as some servers do.
"""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_JSON = "application/fhir+json"
REQUIRED = {"Observation": "status", "Condition": "subject"}

Store = dict[str, dict[str, dict[str, Any]]]


def outcome(*issues: tuple[str, str | None]) -> dict[str, Any]:
    """An OperationOutcome with one error issue per (diagnostics, expression)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": text,
                **({"expression": [where]} if where else {}),
            }
            for text, where in issues
        ],
    }


def _fhir(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _matches(resource: dict[str, Any], token: str) -> bool:
    system, bar, value = token.partition("|")
    if not bar:
        system, value = "", token
    return any(
        isinstance(i, dict) and i.get("value") == value and (not bar or i.get("system") == system)
        for i in resource.get("identifier") or []
    )


def _references(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        found = [data] if isinstance(data.get("reference"), str) else []
        return found + [r for v in data.values() for r in _references(v)]
    if isinstance(data, list):
        return [r for v in data for r in _references(v)]
    return []


@dataclass
class Client:
    kid: str
    public_key: Any


@dataclass
class FhirStandin:
    """The server's state; `app` serves it. Tests read `store` to see what the server holds."""

    atomic: bool = True
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=lambda: {"valid-token"})
    store: Store = field(default_factory=dict)
    assertions: list[dict[str, Any]] = field(default_factory=list)  # verified claims
    token_forms: list[dict[str, str]] = field(default_factory=list)  # without the assertion
    transactions: int = 0

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/fhir/.well-known/smart-configuration", self.smart_configuration),
                Route("/auth/token", self.token, methods=["POST"]),
                Route("/fhir", self.transaction, methods=["POST"]),
                Route("/fhir/{kind}/{id}", self.read),
            ]
        )

    def counts(self) -> dict[str, int]:
        return {kind: len(rows) for kind, rows in self.store.items()}

    def by_sample_id(self, kind: str, system: str, value: str) -> list[dict[str, Any]]:
        return [r for r in self.store.get(kind, {}).values() if _matches(r, f"{system}|{value}")]

    # ---- SMART Backend Services --------------------------------------------------------------

    async def smart_configuration(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "token_endpoint": f"{str(request.base_url).rstrip('/')}/auth/token",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            }
        )

    async def token(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart needed
        assertion = form.pop("client_assertion", "")
        self.token_forms.append(form)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        token_url = f"{str(request.base_url).rstrip('/')}/auth/token"
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            client = self.clients[unverified["iss"]]
            if header.get("kid") != client.kid or header.get("alg") not in ("RS384", "ES384"):
                raise jwt.InvalidTokenError("unknown kid or algorithm")
            claims = jwt.decode(
                assertion,
                client.public_key,
                algorithms=[header["alg"]],
                audience=token_url,
                issuer=unverified["iss"],
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
            if claims["sub"] != claims["iss"] or claims["exp"] > time.time() + 300:
                raise jwt.InvalidTokenError("sub must equal iss; exp at most 5 minutes away")
            if any(seen["jti"] == claims["jti"] for seen in self.assertions):
                raise jwt.InvalidTokenError("jti replayed")
        except (jwt.PyJWTError, KeyError) as exc:
            return JSONResponse(
                {"error": "invalid_client", "error_description": str(exc)}, status_code=401
            )
        self.assertions.append(claims)
        issued = secrets.token_urlsafe(24)
        self.tokens.add(issued)
        return JSONResponse(
            {"access_token": issued, "token_type": "bearer", "expires_in": 300, "scope": "x"}
        )

    # ---- FHIR ------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in self.tokens

    def _unauthorized(self) -> JSONResponse:
        body = outcome(("Unauthorized", None))
        return _fhir(body, 401, {"WWW-Authenticate": 'Bearer realm="standin"'})

    async def read(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._unauthorized()
        kind, rid = request.path_params["kind"], request.path_params["id"]
        found = self.store.get(kind, {}).get(rid)
        if found is None:
            return _fhir(outcome((f"{kind}/{rid} not found", None)), 404)
        return _fhir(found)

    async def transaction(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._unauthorized()
        bundle = await request.json()
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            return _fhir(outcome(("Expected a transaction Bundle", None)), 400)
        self.transactions += 1
        working = copy.deepcopy(self.store)
        entries = bundle.get("entry") or []
        planned: dict[int, tuple[str, str, str]] = {}  # index -> (type, id, action)
        errors: dict[int, list[tuple[str, str | None]]] = {}
        assigned: dict[str, str] = {}  # fullUrl -> Type/id
        for index, entry in enumerate(entries):
            problem = self._plan(index, entry, working)
            if isinstance(problem, list):
                errors[index] = problem
                continue
            planned[index] = problem
            if entry.get("fullUrl"):
                assigned[entry["fullUrl"]] = f"{problem[0]}/{problem[1]}"
        written: dict[int, dict[str, Any]] = {}
        for index, (_kind, rid, _action) in planned.items():
            resource = copy.deepcopy(entries[index]["resource"])
            for ref in _references(resource):
                ref["reference"] = assigned.get(ref["reference"], ref["reference"])
            written[index] = {**resource, "id": rid}
        held = {f"{k}/{i}" for k, rows in working.items() for i in rows} | set(assigned.values())
        for index, resource in written.items():
            for ref in _references(resource):
                if ref["reference"] not in held:
                    where = f"Bundle.entry[{index}].resource"
                    errors.setdefault(index, []).append(
                        (f"Reference {ref['reference']} not found", where)
                    )
        if errors and self.atomic:
            issues = [issue for index in sorted(errors) for issue in errors[index]]
            return _fhir(outcome(*issues), 400)
        answers = []
        for index in range(len(entries)):
            if index in errors:
                failed = outcome(*errors[index])
                answers.append({"response": {"status": "400 Bad Request", "outcome": failed}})
                continue
            kind, rid, action = planned[index]
            previous = working.get(kind, {}).get(rid) or {}
            version = int(previous.get("meta", {}).get("versionId", "0"))
            if action != "keep":  # a conditional create that matched leaves the resource alone
                version += 1
                stored = {**written[index], "meta": {"versionId": str(version)}}
                working.setdefault(kind, {})[rid] = stored
            status = "201 Created" if action == "create" else "200 OK"
            answers.append(
                {
                    "response": {
                        "status": status,
                        "location": f"{kind}/{rid}/_history/{version}",
                        "etag": f'W/"{version}"',
                    }
                }
            )
        self.store = working
        return _fhir({"resourceType": "Bundle", "type": "transaction-response", "entry": answers})

    def _plan(
        self, index: int, entry: dict[str, Any], working: Store
    ) -> tuple[str, str, str] | list[tuple[str, str | None]]:
        """(type, id, "create" | "update" | "keep") for an entry, or its problems."""
        where = f"Bundle.entry[{index}]"
        resource = entry.get("resource") or {}
        request = entry.get("request") or {}
        kind = resource.get("resourceType", "")
        field_name = REQUIRED.get(kind)
        if field_name and not resource.get(field_name):
            return [(f"{kind}.{field_name} is required", f"{where}.resource.{field_name}")]
        if "id" in resource:
            return [("Invalid id", f"{where}.resource.id")]
        path, _, query = str(request.get("url", "")).partition("?")
        if path != kind:
            return [(f"request.url {request.get('url')!r} does not name {kind}", where)]
        method = request.get("method")
        if method == "PUT" and query:
            criteria = parse_qs(query).get("identifier", [])
        elif method == "POST":
            criteria = parse_qs(str(request.get("ifNoneExist", ""))).get("identifier", [])
        else:
            return [(f"unsupported request {method} {request.get('url')}", where)]
        matches = [
            rid
            for rid, stored in working.get(kind, {}).items()
            if criteria and all(_matches(stored, c) for c in criteria)
        ]
        if len(matches) > 1:
            return [(f"{len(matches)} {kind} resources match {criteria}", where)]
        if matches:
            return kind, matches[0], "update" if method == "PUT" else "keep"
        return kind, uuid.uuid4().hex[:16], "create"
