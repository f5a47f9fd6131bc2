"""Reading the load-samples credentials and the SMART Backend Services client assertion."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.fhir.credentials import (
    BearerToken,
    ClientCredentials,
    CredentialError,
    _thumbprint,
    access_token,
    client_assertion,
    read_signing_key,
    read_token_file,
    smart_token_endpoint,
)

FHIR = "https://fhir.test/R4"
TOKEN_URL = "https://auth.test/token"


def _pem(key, tmp_path: Path, fmt=serialization.PrivateFormat.PKCS8, password=None) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, encryption))
    return path


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_rfc7638_thumbprint_example():
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
            "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65"
            "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyr"
            "dkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzK"
            "nqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert _thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_an_rsa_pem_signs_rs384_with_its_thumbprint_as_kid(rsa_key, tmp_path, fmt):
    key = read_signing_key(_pem(rsa_key, tmp_path, fmt))
    public = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    assert key.algorithm == "RS384" and key.kid == _thumbprint(public)
    assert read_signing_key(_pem(rsa_key, tmp_path, fmt), key_id="mine").kid == "mine"


def test_an_ec_p384_jwk_signs_es384_with_its_own_kid(tmp_path):
    private = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "key.json"
    path.write_text(json.dumps({**ECAlgorithm.to_jwk(private, as_dict=True), "kid": "ec-1"}))
    key = read_signing_key(path)
    assert (key.algorithm, key.kid) == ("ES384", "ec-1")
    assert repr(key) == "SigningKey(algorithm='ES384', kid='ec-1')"


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p, rsa_key: p.write_text("not a key"), "not a PEM private key"),
        (lambda p, rsa_key: p.write_text("{"), "not a JWK or PEM file"),
        # valid JSON Python refuses to read (over 4,300 digits): named, not an AttributeError
        (lambda p, rsa_key: p.write_text('{"kty": ' + "9" * 5000 + "}"), "not a JWK or PEM file"),
        (
            lambda p, rsa_key: p.write_text(
                json.dumps({**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "alg": "RS256"})
            ),
            "declares alg RS256, expected RS384",
        ),
        (
            lambda p, rsa_key: p.write_text(
                json.dumps(RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True))
            ),
            "exactly one private JWK",
        ),
        (
            lambda p, rsa_key: p.write_bytes(
                _pem(ec.generate_private_key(ec.SECP256R1()), p.parent).read_bytes()
            ),
            "RSA or EC P-384",
        ),
        (
            lambda p, rsa_key: p.write_bytes(_pem(rsa_key, p.parent, password=b"pw").read_bytes()),
            "encrypted private keys are not supported",
        ),
    ],
)
def test_unusable_keys_are_refused_with_a_reason(rsa_key, tmp_path, write, message):
    path = tmp_path / "client-key"
    write(path, rsa_key)
    with pytest.raises(CredentialError, match=message):
        read_signing_key(path)


def test_a_token_file_is_stripped_and_an_empty_one_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text("  abc.def \n")
    token = read_token_file(path)
    assert token.token == "abc.def" and "abc" not in repr(token)
    path.write_text("\n")
    with pytest.raises(CredentialError, match="empty"):
        read_token_file(path)


def test_the_client_assertion_carries_the_smart_claims(rsa_key, tmp_path):
    key = read_signing_key(_pem(rsa_key, tmp_path), key_id="k1")
    first = client_assertion("loader", TOKEN_URL, key, now=1_700_000_000)
    second = client_assertion("loader", TOKEN_URL, key, now=1_700_000_000)
    header = jwt.get_unverified_header(first)
    assert header == {"alg": "RS384", "kid": "k1", "typ": "JWT"}
    claims = jwt.decode(
        first,
        rsa_key.public_key(),
        algorithms=["RS384"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "loader"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"] != jwt.decode(second, options={"verify_signature": False})["jti"]


async def test_a_bearer_token_is_used_as_given():
    async with httpx.AsyncClient() as client:
        assert await access_token(BearerToken("t"), client, FHIR) == "t"


async def test_a_server_without_smart_configuration_asks_for_token_url():
    with respx.mock() as mock:
        mock.get(f"{FHIR}/.well-known/smart-configuration").mock(return_value=httpx.Response(404))
        async with httpx.AsyncClient() as client:
            with pytest.raises(CredentialError, match=r"HTTP 404\): pass --token-url"):
                await smart_token_endpoint(client, FHIR)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(200, json={"token_type": "bearer"}), "without a bearer access_token"),
        (
            httpx.Response(200, json={"access_token": "x", "token_type": "mac"}),
            "without a bearer access_token",
        ),
        (
            httpx.Response(400, json={"error": "invalid_scope", "error_description": "no"}),
            r"refused the client credentials \(HTTP 400\): invalid_scope: no",
        ),
    ],
)
async def test_token_endpoint_answers_that_give_no_token(rsa_key, tmp_path, answer, message):
    credentials = ClientCredentials("loader", read_signing_key(_pem(rsa_key, tmp_path)), TOKEN_URL)
    with respx.mock() as mock:
        mock.post(TOKEN_URL).mock(return_value=answer)
        async with httpx.AsyncClient() as client:
            with pytest.raises(CredentialError, match=message):
                await access_token(credentials, client, FHIR)
