"""Key encodings against FEP-521a's own feature file, round trips, and refusals of unreadable keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from federation import keys

# A verbatim copy of FEP-521a's fep-521a.feature (see ../shared/vectors/README.md).
FEATURE = (Path(__file__).parent / "data" / "keys_fep-521a.feature").read_text()
ED25519_HEX, RSA_PKCS1_HEX = re.findall(r'as a hex string "([0-9a-f]+)"', FEATURE)
ED25519_MULTIBASE, RSA_MULTIBASE = re.findall(r'"publicKeyMultibase": "(z\w+)"', FEATURE)


def _raw(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_fep_521a_ed25519_vector():
    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(ED25519_HEX))
    assert keys.encode_multikey(key) == ED25519_MULTIBASE
    assert _raw(keys.decode_multikey(ED25519_MULTIBASE)).hex() == ED25519_HEX
    assert ED25519_MULTIBASE.startswith("z6Mk")


def test_fep_521a_rsa_vector():
    key = serialization.load_der_public_key(bytes.fromhex(RSA_PKCS1_HEX))
    assert keys.encode_multikey(key) == RSA_MULTIBASE
    decoded = keys.load_public_key(RSA_MULTIBASE)
    assert isinstance(decoded, rsa.RSAPublicKey)
    assert decoded.public_numbers() == key.public_numbers()
    # The multicodec prefix 0x1205 is the varint 85 24 (README of the vectors).
    assert keys.b58decode(RSA_MULTIBASE[1:])[:2] == b"\x85\x24"


def test_generated_rsa_key_round_trips():
    private_pem = keys.generate_rsa_private_pem()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
    public_pem = keys.rsa_public_pem(private_pem)
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")  # SubjectPublicKeyInfo
    private = keys.load_rsa_private_key(private_pem)
    public = keys.load_public_key(public_pem)
    assert private.key_size == 2048
    assert public.public_numbers() == private.public_key().public_numbers()
    assert keys.public_key_pem(public) == public_pem
    assert keys.decode_multikey(keys.encode_multikey(public)).public_numbers() == \
        public.public_numbers()


def test_generated_ed25519_key_round_trips():
    raw = keys.generate_ed25519_private()
    assert len(raw) == 32
    multibase = keys.ed25519_public_multibase(raw)
    assert multibase.startswith("z6Mk")
    signature = keys.load_ed25519_private_key(raw).sign(b"x")
    keys.load_public_key(multibase).verify(signature, b"x")
    pem = keys.public_key_pem(keys.decode_multikey(multibase))
    assert keys.encode_multikey(keys.load_public_key(pem)) == multibase


def test_pkcs1_pem_and_pkcs1_private_keys_are_read():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1_public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert pkcs1_public.startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert keys.load_public_key(pkcs1_public).public_numbers() == \
        private.public_key().public_numbers()
    pkcs1_private = private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()).decode()
    assert keys.load_rsa_private_key(pkcs1_private).private_numbers() == private.private_numbers()


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0abc", b"\xff" * 40, bytes(range(256))])
def test_base58_round_trips(data):
    assert keys.b58decode(keys.b58encode(data)) == data


def test_base58_known_value():
    # "Hello World!" in base58btc (draft-msporny-base58 §5).
    assert keys.b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"


def _pem(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("bad", [
    "", "   ", "not a key", "z", "zz", "z0OIl",
    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    _pem(ec.generate_private_key(ec.SECP256R1()).public_key()),  # a kind we do not take
    "z" + keys.b58encode(b"\xed\x01" + b"\1" * 10),  # Ed25519 key of the wrong length
    "z" + keys.b58encode(b"\x85\x24" + b"\1" * 40),  # RSA codec, not DER
    "z" + keys.b58encode(b"\x12\x00" + b"\1" * 40),  # sha2-256 multihash, not a key
    "z" + keys.b58encode(b"\xff\xff\xff\xff\xff"),  # no end to the varint
])
def test_unreadable_public_keys_are_refused(bad):
    with pytest.raises(keys.KeyFormatError):
        keys.load_public_key(bad)


def test_text_that_is_no_key_says_what_a_key_looks_like():
    with pytest.raises(keys.KeyFormatError, match="PEM or a 'z' Multikey"):
        keys.load_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")


def test_an_rsa_multikey_holding_an_ed25519_key_is_refused():
    spki = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(keys.KeyFormatError, match="another kind"):
        keys.decode_multikey("z" + keys.b58encode(b"\x85\x24" + spki))


@pytest.mark.parametrize(("call", "value"), [
    (keys.load_rsa_private_key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
    (keys.load_rsa_private_key, ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()),
    (keys.rsa_public_pem, "nonsense"),
    (keys.load_ed25519_private_key, b"\1" * 31),
    (keys.ed25519_public_multibase, "not bytes"),
    (keys.decode_multikey, None),
    (keys.load_public_key, b"-----BEGIN PUBLIC KEY-----"),
    (keys.encode_multikey, ec.generate_private_key(ec.SECP256R1()).public_key()),
])
def test_malformed_input_raises_key_format_error(call, value):
    with pytest.raises(keys.KeyFormatError):
        call(value)
    assert issubclass(keys.KeyFormatError, ValueError)
