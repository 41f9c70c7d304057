"""Key encodings against FEP-521a's vectors, and refusals of unreadable keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation import keys

# FEP-521a "Representing actor's public keys" (copied from the feature file as data).
ED25519_HEX = "2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6"
ED25519_MULTIBASE = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
RSA_PKCS1_HEX = (
    "3082010a0282010100b1b5fcd8d4d5e88ca5c4287b31f578865caf6a78826a3b8ff7b1b23aa4af4e6a0474139f945b"
    "d9d3a911ffd0fa72db78e4593a86c91f9da836186ebd3402d51f6a3844247ab5088b46929c311b43604fed84499f06"
    "f0f39bf55590e2187f1bbe229ba8f49fd2e570cd0e3733c76bfede80e1e7e0881e4538ea1bc5782be9512f8bf13252"
    "6e05f4923564fe6e1e21bf7087adebb660fa533fca06d0a8e66991e1312d70b64a61da8ca77c028cdf939601e2cffe"
    "2855759b1d479f0847bcac59d7d62427a431d4e3dfd2697428b9dd6309a7b1167db99fe01af1ff1b739566fb949e47"
    "089d1dae84aef1214ef7f5773e86a0d3e9da246f9bec09d60c705891183d0203010001")
RSA_MULTIBASE = (
    "z4MXj1wBzi9jUstyPMS4jQqB6KdJaiatPkAtVtGc6bQEQEEsKTic4G7Rou3iBf9vPmT5dbkm9qsZsuVNjq8HCuW1w24nhB"
    "FGkRE4cd2Uf2tfrB3N7h4mnyPp1BF3ZttHTYv3DLUPi1zMdkULiow3M1GfXkoC6DoxDUm1jmN6GBj22SjVsr6dxezRVQc7"
    "aj9TxE7JLbMH1wh5X3kA58H3DFW8rnYMakFGbca5CB2Jf6CnGQZmL7o5uJAdTwXfy2iiiyPxXEGerMhHwhjTA1mKYobyk2"
    "CpeEcmvynADfNZ5MBvcCS7m3XkFCMNUYBS9NQ3fze6vMSUPsNa6GVYmKx2x6JrdEjCk3qRMMmyjnjCMfR4pXbRMZa3i")


def test_fep_521a_ed25519():
    key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(ED25519_HEX))
    assert keys.encode_multikey(key) == ED25519_MULTIBASE
    decoded = keys.decode_multikey(ED25519_MULTIBASE)
    assert decoded.public_bytes(serialization.Encoding.Raw,
                                serialization.PublicFormat.Raw).hex() == ED25519_HEX


def test_fep_521a_rsa():
    key = serialization.load_der_public_key(bytes.fromhex(RSA_PKCS1_HEX))
    assert keys.encode_multikey(key) == RSA_MULTIBASE
    decoded = keys.load_public_key(RSA_MULTIBASE)
    assert decoded.public_numbers() == key.public_numbers()


def test_generated_keys_round_trip():
    rsa_pem = keys.generate_rsa_private_pem()
    public = keys.load_public_key(keys.rsa_public_pem(rsa_pem))
    assert public.key_size == 2048
    raw = keys.generate_ed25519_private()
    multibase = keys.ed25519_public_multibase(raw)
    assert multibase.startswith("z6Mk") and len(raw) == 32
    signature = ed25519.Ed25519PrivateKey.from_private_bytes(raw).sign(b"x")
    keys.load_public_key(multibase).verify(signature, b"x")
    assert keys.b58decode(keys.b58encode(b"\0\0abc")) == b"\0\0abc"


@pytest.mark.parametrize("bad", [
    "", "zz", "z0OIl", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    "z" + keys.b58encode(b"\xed\x01" + b"\1" * 10), "z" + keys.b58encode(b"\x12\x00" + b"\1" * 40),
])
def test_unreadable_keys_are_refused(bad):
    with pytest.raises(keys.KeyFormatError):
        keys.load_public_key(bad)
