"""Key material: RSA for HTTP signatures (what every peer checks), Ed25519 as a FEP-521a
Multikey for integrity proofs, and the encodings both travel in."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
# Multicodec prefixes (unsigned varints): ed25519-pub 0xed, rsa-pub 0x1205.
_ED25519_PREFIX = b"\xed\x01"
_RSA_PREFIX = b"\x85\x24"


class KeyFormatError(ValueError):
    """A key that cannot be read."""


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _ALPHABET[rest] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise KeyFormatError(f"not base58: {char!r}")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + body


def generate_rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def rsa_public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return public_key_pem(key.public_key())  # type: ignore[arg-type]


def generate_ed25519_private() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def ed25519_public_multibase(private_raw: bytes) -> str:
    return encode_multikey(ed25519.Ed25519PrivateKey.from_private_bytes(private_raw).public_key())


def public_key_pem(public_key: PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def encode_multikey(public_key: PublicKey) -> str:
    """FEP-521a `publicKeyMultibase`: base58btc of the multicodec-prefixed key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "z" + b58encode(_ED25519_PREFIX + raw)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return "z" + b58encode(_RSA_PREFIX + der)


def decode_multikey(value: str) -> PublicKey:
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 10:
        raise KeyFormatError("a Multikey must be base58btc (start with 'z')")
    data = b58decode(value[1:])
    try:
        if data.startswith(_ED25519_PREFIX) and len(data) == 34:
            return ed25519.Ed25519PublicKey.from_public_bytes(data[2:])
        if data.startswith(_RSA_PREFIX):
            key = serialization.load_der_public_key(data[2:])  # PKCS#1 DER
            if isinstance(key, rsa.RSAPublicKey):
                return key
    except ValueError as exc:
        raise KeyFormatError(f"unreadable Multikey: {exc}") from None
    raise KeyFormatError("Multikey is neither an Ed25519 nor an RSA public key")


def load_public_key(material: str) -> PublicKey:
    """A public key from PEM (SPKI or PKCS#1) or a Multikey string."""
    if not isinstance(material, str):
        raise KeyFormatError("a key must be text")
    if material.startswith("z"):
        return decode_multikey(material)
    try:
        key = serialization.load_pem_public_key(material.strip().encode())
    except ValueError as exc:
        raise KeyFormatError(f"unreadable PEM key: {exc}") from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise KeyFormatError("only RSA and Ed25519 keys are supported")
    return key
