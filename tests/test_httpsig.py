"""HTTP signatures against the published vectors and an independent implementation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from federation import httpsig
from federation.httpsig import SignatureError, parse_signature, verify_signature

DATA = Path(__file__).parent / "data"
RFC9421 = json.loads((DATA / "rfc9421_vectors.json").read_text())
CAVAGE = json.loads((DATA / "cavage_vectors.json").read_text())
URL = "https://remote.example/users/alice/inbox"
BODY = b'{"type": "Follow"}'


def _public(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def _private(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _rfc_key(name: str, kind: str = "public_pem"):
    return RFC9421["keys"][name][kind]


# --- RFC 9421 appendix B ---------------------------------------------------------------------

def _test_request_headers() -> dict[str, str]:
    return dict(RFC9421["test-request"]["headers"])


def test_b26_ed25519_reproduced_byte_for_byte():
    case = RFC9421["cases"]["sig-b26"]
    request = RFC9421["test-request"]
    info = parse_signature("POST", request["target_uri"], {
        **request["headers"], "Signature-Input": case["signature_input"],
        "Signature": f"sig-b26=:{case['signature_b64']}:"})
    base = httpsig.signature_base(info.components, info.params, "POST", request["target_uri"],
                                  request["headers"])
    assert base.decode() == case["signature_base"]
    key = _private(_rfc_key("test-key-ed25519", "private_pem"))
    assert base64.b64encode(key.sign(base)).decode() == case["signature_b64"]


@pytest.mark.parametrize("name", ["sig-b22", "sig-b23", "proxy_sig (section 4.3)"])
def test_rfc9421_rsa_vectors_verify(name):
    case = RFC9421["cases"][name]
    key_name = "test-key-rsa-pss" if case["alg"] == "rsa-pss-sha512" else "test-key-rsa"
    pem = RFC9421["keys"][key_name].get("public_pem") or RFC9421["keys"][key_name]["public_pem_pkcs1"]
    key = _public(pem)
    signature = base64.b64decode(case["signature_b64"])
    assert httpsig._verify(key, signature, case["signature_base"].encode(), case["alg"])
    assert not httpsig._verify(key, signature, case["signature_base"].encode() + b" ", case["alg"])


def test_b23_base_rebuilt_from_the_request():
    """Our base builder gives the RFC's bytes for the derived components B.2.3 covers."""
    case = RFC9421["cases"]["sig-b23"]
    request = RFC9421["test-request"]
    params = case["signature_base"].rsplit('"@signature-params": ', 1)[1]
    components = ("date", "@method", "@path", "@query", "@authority", "content-type",
                  "content-digest", "content-length")
    base = httpsig.signature_base(components, params, "POST", request["target_uri"],
                                  request["headers"])
    assert base.decode() == case["signature_base"]


def test_b26_verifies_through_the_request_path():
    """The whole verifier accepts B.2.6 when told the time it was made (covers no digest)."""
    case = RFC9421["cases"]["sig-b26"]
    request = RFC9421["test-request"]
    headers = {**request["headers"], "Signature-Input": case["signature_input"],
               "Signature": f"sig-b26=:{case['signature_b64']}:"}
    info = parse_signature("POST", request["target_uri"], headers)
    key = _public(_rfc_key("test-key-ed25519"))
    then = datetime.fromtimestamp(1618884473, UTC)
    # B.2.6 covers @authority/@path but no content-digest, which we require on a POST body.
    with pytest.raises(SignatureError, match="Content-Digest"):
        verify_signature(info, "POST", request["target_uri"], headers,
                         request["body"].encode(), key, now=then)
    verify_signature(info, "POST", request["target_uri"], headers, None, key, now=then)
    with pytest.raises(SignatureError, match="too old"):
        verify_signature(info, "POST", request["target_uri"], headers, None, key)


# --- cavage appendix C -----------------------------------------------------------------------

@pytest.mark.parametrize("case", ["C.1", "C.2", "C.3"])
def test_cavage_vectors_reproduced(case):
    vector = CAVAGE["cases"][case]
    key = _private(CAVAGE["private_pem"])
    signature = httpsig._sign(key, vector["signing_string"].encode())
    assert base64.b64encode(signature).decode() == vector["signature"]


def test_cavage_c3_verifies_through_the_request_path():
    vector = CAVAGE["cases"]["C.3"]
    request = CAVAGE["request"]
    headers = {**request["headers"], "Signature": (
        f'keyId="Test",algorithm="rsa-sha256",headers="{vector["headers"]}",'
        f'signature="{vector["signature"]}"')}
    info = parse_signature("POST", request["url"], headers)
    then = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
    verify_signature(info, "POST", request["url"], headers, request["body"].encode(),
                     _public(CAVAGE["public_pem"]), now=then)


# --- round trips -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


def _signed(sign, key, method="POST", body=BODY, **kwargs):
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign(method, URL, headers, body, key_id="https://remote.example/k",
                        private_key=key, **kwargs))
    return headers


@pytest.mark.parametrize("sign", [httpsig.sign_cavage, httpsig.sign_rfc9421])
@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_round_trip(sign, kind, rsa_key, ed_key):
    key = rsa_key if kind == "rsa" else ed_key
    headers = _signed(sign, key)
    info = parse_signature("POST", URL, headers)
    assert info.key_id == "https://remote.example/k"
    verify_signature(info, "POST", URL, headers, BODY, key.public_key())
    get_headers = _signed(sign, key, method="GET", body=None)
    verify_signature(parse_signature("GET", URL, get_headers), "GET", URL, get_headers, None,
                     key.public_key())


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("sign", [httpsig.sign_cavage, httpsig.sign_rfc9421])
def test_refusals(sign, rsa_key):
    headers = _signed(sign, rsa_key)
    info = parse_signature("POST", URL, headers)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signature(info, "POST", URL, headers, BODY, other)
    with pytest.raises(SignatureError, match="[Dd]igest"):
        verify_signature(info, "POST", URL, headers, BODY + b" ", rsa_key.public_key())
    with pytest.raises(SignatureError):
        verify_signature(info, "POST", URL.replace("alice", "bob"), headers, BODY,
                         rsa_key.public_key())
    with pytest.raises(SignatureError, match="too old"):
        verify_signature(info, "POST", URL, headers, BODY, rsa_key.public_key(),
                         now=datetime.now(UTC) + timedelta(hours=13))
    with pytest.raises(SignatureError, match="future"):
        verify_signature(info, "POST", URL, headers, BODY, rsa_key.public_key(),
                         now=datetime.now(UTC) - timedelta(hours=13))


def test_missing_and_malformed_headers(rsa_key):
    with pytest.raises(SignatureError, match="missing signature"):
        parse_signature("POST", URL, {"Date": "now"})
    cases = {
        'keyId="a",keyId="b",signature="AAAA"': "repeats",
        'algorithm="rsa-sha256",signature="AAAA"': "keyId",
        'keyId="a",algorithm="rsa-sha1",signature="AAAA"': "unsupported",
        'keyId="a",signature="not base64!"': "base64",
        'keyId="a" signature="AAAA"': "malformed",
    }
    for value, words in cases.items():
        with pytest.raises(SignatureError, match=words):
            parse_signature("POST", URL, {"Signature": value})
    for value, words in {
        'sig1=("@method";created=1': "malformed",
        'sig1=("@method");created=1': "keyid",
        'sig1=("@method");keyid="k"': "created",
        'sig1=("@method");keyid="k";created=1;alg="hmac-sha256"': "unsupported",
    }.items():
        with pytest.raises(SignatureError, match=words):
            parse_signature("POST", URL, {"Signature-Input": value, "Signature": "sig1=:AAAA:"})
    with pytest.raises(SignatureError, match="no signature for the label"):
        parse_signature("POST", URL, {"Signature-Input": 'sig1=("@method");keyid="k";created=1',
                                      "Signature": "other=:AAAA:"})


def test_required_components(rsa_key):
    """A signature that leaves out the digest, the target or the date is refused."""
    string = f"date: {datetime.now(UTC):%a, %d %b %Y %H:%M:%S GMT}"
    signature = base64.b64encode(httpsig._sign(rsa_key, string.encode())).decode()
    headers = {"Date": string[6:], "Digest": httpsig.digest_header(BODY),
               "Signature": f'keyId="k",headers="date",signature="{signature}"'}
    info = parse_signature("POST", URL, headers)
    with pytest.raises(SignatureError, match="request-target"):
        verify_signature(info, "POST", URL, headers, BODY, rsa_key.public_key())
    no_digest = _signed(httpsig.sign_cavage, rsa_key, body=None)
    with pytest.raises(SignatureError, match="Digest"):
        verify_signature(parse_signature("POST", URL, no_digest), "POST", URL, no_digest, BODY,
                         rsa_key.public_key())
    rfc = _signed(httpsig.sign_rfc9421, rsa_key, body=None)
    with pytest.raises(SignatureError, match="Content-Digest"):
        verify_signature(parse_signature("POST", URL, rfc), "POST", URL, rfc, BODY,
                         rsa_key.public_key())


def test_digest_names_are_case_insensitive(rsa_key):
    headers = _signed(httpsig.sign_cavage, rsa_key)
    assert headers["Digest"].startswith("SHA-256=")
    httpsig._check_digest(headers["Digest"].replace("SHA-256", "sha-256"), BODY)
    with pytest.raises(SignatureError):
        httpsig._check_digest("MD5=abc", BODY)


# --- an independent implementation: http-message-signatures ----------------------------------

class _Keys(HTTPSignatureKeyResolver):
    def __init__(self, private, public):
        self.private, self.public = private, public

    def resolve_private_key(self, key_id):
        return self.private

    def resolve_public_key(self, key_id):
        return self.public


def _requests_request(headers: dict[str, str]):
    import requests

    request = requests.Request("POST", URL, data=BODY, headers=headers).prepare()
    return request


def test_their_ed25519_signature_verifies_with_us(ed_key):
    request = _requests_request({"Content-Type": "application/activity+json"})
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=_Keys(ed_key, ed_key.public_key()))
    # The library computes the Content-Digest itself from the body.
    signer.sign(request, key_id="https://remote.example/k", label="sig1", body=BODY,
                covered_component_ids=("@method", "@target-uri", "content-digest"))
    assert "content-digest" in {k.lower() for k in request.headers}
    headers = dict(request.headers)
    info = parse_signature("POST", URL, headers)
    verify_signature(info, "POST", URL, headers, BODY, ed_key.public_key())


def test_our_signature_verifies_with_them(rsa_key, ed_key):
    for key, algorithm in ((ed_key, algorithms.ED25519), (rsa_key, algorithms.RSA_V1_5_SHA256)):
        headers = _signed(httpsig.sign_rfc9421, key)
        request = _requests_request(headers)
        verifier = HTTPMessageVerifier(signature_algorithm=algorithm,
                                       key_resolver=_Keys(key, key.public_key()))
        results = verifier.verify(request, body=BODY,
                                  require_components=("@method", "@target-uri", "content-digest"))
        assert [r.label for r in results] == ["sig1"]
