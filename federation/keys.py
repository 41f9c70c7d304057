"""Key material: RSA for HTTP signatures (what every peer checks), Ed25519 as a FEP-521a
Multikey for integrity proofs, and the encodings both travel in.

Local actors keep `rsa_private_pem` as text and `ed25519_private` as the raw 32-byte seed.
Anything unreadable raises `KeyFormatError`, a `ValueError`, so callers need one `except`.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}
# Multicodec codes (FEP-521a): the key bytes follow the code as an unsigned varint.
_ED25519_PUB = 0xED
_RSA_PUB = 0x1205


class KeyFormatError(ValueError):
    """A key that cannot be read; the message says why."""


def b58encode(data: bytes) -> str:
    """base58btc (Bitcoin alphabet); each leading zero byte becomes a '1'."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _ALPHABET[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise KeyFormatError(f"not base58btc: {char!r}")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    return bytes(out) + bytes([number])


def _split_varint(data: bytes) -> tuple[int, bytes]:
    """The multicodec code at the start of `data`, and the bytes after it."""
    number = 0
    for index, byte in enumerate(data[:4]):
        number |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return number, data[index + 1:]
    raise KeyFormatError("the Multikey has no multicodec prefix")


def generate_rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def load_rsa_private_key(private_pem: str) -> rsa.RSAPrivateKey:
    """A local actor's stored RSA key (PKCS#8 or PKCS#1 PEM)."""
    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"unreadable private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError("the private key is not an RSA key")
    return key


def rsa_public_pem(private_pem: str) -> str:
    return public_key_pem(load_rsa_private_key(private_pem).public_key())


def generate_ed25519_private() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def load_ed25519_private_key(private_raw: bytes) -> ed25519.Ed25519PrivateKey:
    """A local actor's stored Ed25519 key (the raw 32-byte seed)."""
    if not isinstance(private_raw, bytes) or len(private_raw) != 32:
        raise KeyFormatError("an Ed25519 private key is 32 raw bytes")
    return ed25519.Ed25519PrivateKey.from_private_bytes(private_raw)


def ed25519_public_multibase(private_raw: bytes) -> str:
    return encode_multikey(load_ed25519_private_key(private_raw).public_key())


def public_key_pem(public_key: PublicKey) -> str:
    """SubjectPublicKeyInfo PEM, what `publicKeyPem` carries."""
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def encode_multikey(public_key: PublicKey) -> str:
    """FEP-521a `publicKeyMultibase`: 'z' + base58btc(varint codec + key bytes)."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        code = _ED25519_PUB
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    elif isinstance(public_key, rsa.RSAPublicKey):
        code = _RSA_PUB
        raw = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:
        raise KeyFormatError("only Ed25519 and RSA keys have a Multikey form here")
    return "z" + b58encode(_varint(code) + raw)


def decode_multikey(value: str) -> PublicKey:
    """The public key of a FEP-521a `publicKeyMultibase` (ed25519-pub or rsa-pub)."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise KeyFormatError("a Multikey must be base58btc text starting with 'z'")
    code, raw = _split_varint(b58decode(value[1:]))
    if code == _ED25519_PUB:
        if len(raw) != 32:
            raise KeyFormatError("an Ed25519 Multikey holds 32 bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if code == _RSA_PUB:
        try:
            key = serialization.load_der_public_key(raw)
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFormatError("the RSA Multikey is not a DER RSA public key") from None
        if isinstance(key, rsa.RSAPublicKey):
            return key
        raise KeyFormatError("the RSA Multikey holds another kind of key")
    raise KeyFormatError(f"unsupported Multikey codec 0x{code:x}")


def load_public_key(material: str) -> PublicKey:
    """A public key from PEM (SPKI, or PKCS#1 "RSA PUBLIC KEY") or a Multikey string."""
    if not isinstance(material, str):
        raise KeyFormatError("a public key must be text")
    text = material.strip()
    if text.startswith("z"):
        return decode_multikey(text)
    if not text.startswith("-----BEGIN "):
        raise KeyFormatError("a public key must be PEM or a 'z' Multikey")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"unreadable PEM public key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise KeyFormatError("only RSA and Ed25519 public keys are supported")
    return key
