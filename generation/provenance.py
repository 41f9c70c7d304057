"""C2PA provenance: every rendered MP4 carries a signed manifest saying it is AI-generated.

The manifest's `c2pa.created` action has the IPTC digital source type `trainedAlgorithmicMedia`
and names Likeness and the model as the claim generator and software agent. It is signed ES256
with c2pa-python, offline (no timestamp authority: that would need the network).

Certificates: c2pa refuses a self-signed signing certificate, so an instance makes its own root
CA on first start and signs an end-entity certificate with it, both kept in the directory given
(data_dir/c2pa). The root is the instance's, kept in its database too (`install_root`), so that
every machine's workers sign under it and recognise each other's renders; each machine makes its
own end-entity certificate from it. Readers show that chain as valid but untrusted; a deployment
that wants trusted credentials brings a chain from a CA on the C2PA trust list and its key
instead (`LIKENESS_C2PA_CERT_CHAIN`, `LIKENESS_C2PA_PRIVATE_KEY`).
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .config import GenerationConfig

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ROOT_YEARS = 20
# Short-lived end-entity certificates: renewed from the root when less than a month is left.
LEAF_DAYS = 365
LEAF_RENEW_DAYS = 30


class ProvenanceError(Exception):
    """Signing could not happen: unusable certificates or key, or c2pa refused the file."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Likeness"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Whole or not at all: written beside `path`, then renamed."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _make_root(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=True, crl_sign=True, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate, common_name: str,
               ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """An end-entity certificate as the C2PA profile wants it: not a CA, digitalSignature, and
    an extended key usage c2pa accepts (emailProtection)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(root.subject)
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=LEAF_DAYS), root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     key_cert_sign=False, crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert


def local_root(directory: Path) -> dict[str, str] | None:
    """The root CA (PEM key and certificate) kept in `directory`, if there is one."""
    key, cert = directory / "root.key", directory / "root.pem"
    if not (key.exists() and cert.exists()):
        return None
    return {"key": key.read_text(), "cert": cert.read_text()}


def new_root(instance_name: str = "Likeness") -> dict[str, str]:
    key, cert = _make_root(f"{instance_name} C2PA root")
    return {"key": _pem(key).decode(), "cert": cert.public_bytes(serialization.Encoding.PEM).decode()}


def install_root(directory: Path, root: dict[str, str]) -> None:
    """Make `root` the one `instance_chain` signs under in `directory`: another root there (made
    by this machine before it shared the instance's) is replaced, with its end-entity certificate."""
    if local_root(directory) == root:
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "signer.pem").unlink(missing_ok=True)
    _write_private(directory / "root.key", root["key"].encode(), 0o600)
    _write_private(directory / "root.pem", root["cert"].encode())


def instance_chain(directory: Path, instance_name: str = "Likeness") -> tuple[bytes, bytes, bytes]:
    """The instance's (signing chain, private key, root) PEMs, made on first use under
    `directory`; the end-entity certificate is renewed when it nears its end."""
    directory.mkdir(parents=True, exist_ok=True)
    root_key_path, root_path = directory / "root.key", directory / "root.pem"
    leaf_key_path, leaf_path = directory / "signer.key", directory / "signer.pem"
    if local_root(directory) is None:
        install_root(directory, new_root(instance_name))
    root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), password=None)
    root = x509.load_pem_x509_certificate(root_path.read_bytes())
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    renew_by = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=LEAF_RENEW_DAYS)
    if (not (leaf_key_path.exists() and leaf_path.exists())
            or x509.load_pem_x509_certificate(leaf_path.read_bytes()).not_valid_after_utc < renew_by):
        leaf_key, leaf = _make_leaf(root_key, root, f"{instance_name} content credentials")
        _write_private(leaf_key_path, _pem(leaf_key), 0o600)
        _write_private(leaf_path, leaf.public_bytes(serialization.Encoding.PEM))
    root_pem = root_path.read_bytes()
    return leaf_path.read_bytes() + root_pem, leaf_key_path.read_bytes(), root_pem


class C2PASigner:
    """Signs MP4 files with one certificate chain (PEM, leaf first) and its PKCS#8 key."""

    def __init__(self, cert_chain: bytes, private_key: bytes, *, trust_anchor: bytes | None = None) -> None:
        self.cert_chain = cert_chain
        self.private_key = private_key
        # The root readers should trust for "Trusted" rather than "Valid"; kept for verify().
        self.trust_anchor = trust_anchor

    @classmethod
    def for_instance(cls, directory: Path, *, cert_chain: Path | None = None,
                     private_key: Path | None = None, instance_name: str = "Likeness") -> C2PASigner:
        """A deployment's own chain when both paths are given, else the instance's CA."""
        if cert_chain is not None and private_key is not None:
            try:
                return cls(Path(cert_chain).read_bytes(), Path(private_key).read_bytes())
            except OSError as exc:
                raise ProvenanceError(f"the C2PA certificate chain or key cannot be read: {exc}") from exc
        chain, key, root = instance_chain(Path(directory), instance_name)
        return cls(chain, key, trust_anchor=root)

    def sign(self, source: Path, destination: Path, *, generator: str, title: str) -> None:
        """Write `source` (an MP4) to `destination` with a manifest saying it was made by
        `generator` (the model) through Likeness."""
        import c2pa

        manifest = {
            # c2pa allows one claim generator: Likeness; the model is the action's software agent.
            "claim_generator_info": [{"name": "Likeness", "version": _version()}],
            "title": title,
            "format": "video/mp4",
            "assertions": [{
                "label": "c2pa.actions",
                "data": {"actions": [{
                    "action": "c2pa.created",
                    "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                    "softwareAgent": {"name": generator},
                }]},
            }],
        }
        info = c2pa.C2paSignerInfo(b"es256", self.cert_chain, self.private_key, None)
        try:
            with c2pa.Signer.from_info(info) as signer, \
                    c2pa.Builder.from_json(json.dumps(manifest)) as builder, \
                    open(source, "rb") as src, open(destination, "w+b") as dst:
                builder.sign(signer, "video/mp4", src, dst)
        except c2pa.C2paError as exc:
            raise ProvenanceError(f"C2PA signing failed: {exc}") from exc


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("likeness")
    except PackageNotFoundError:
        return "0"


def _unreadable(state: str, failure: str) -> dict[str, Any]:
    return {"state": state, "valid": False, "trusted": False, "claim_generator": [],
            "digital_source_type": None, "software_agent": None, "failures": [failure]}


def verify(path: Path, *, trust_anchor: bytes | None = None) -> dict[str, Any]:
    """Read the manifest back and check it against the file.

    Returns {"state": "Trusted" | "Valid" | "Invalid" | "Missing", "valid": bool, "trusted": bool,
    "claim_generator": [names], "digital_source_type": str | None, "software_agent": str | None,
    "failures": [codes]}. "Valid"
    means the signature and the hashes of the file check out; "Trusted" also that the chain ends
    at `trust_anchor`.
    """
    import c2pa

    settings: dict[str, Any] = {}
    if trust_anchor is not None:
        settings = {"trust": {"trust_anchors": trust_anchor.decode()}, "verify": {"verify_trust": True}}
    with open(path, "rb") as stream:
        try:
            context = c2pa.Context.from_dict(settings) if settings else None
            reader = c2pa.Reader("video/mp4", stream, context=context)
        except c2pa.C2paError.ManifestNotFound:
            return _unreadable("Missing", "manifest.missing")
        except c2pa.C2paError as exc:
            return _unreadable("Invalid", str(exc))
        with reader:
            state = reader.get_validation_state() or "Invalid"
            manifest = reader.get_active_manifest() or {}
            results = reader.get_validation_results() or {}
    failures = [entry.get("code", "") for entry in results.get("activeManifest", {}).get("failure", [])]
    created = [(action.get("digitalSourceType"), (action.get("softwareAgent") or {}).get("name"))
               for assertion in manifest.get("assertions", [])
               if assertion.get("label", "").startswith("c2pa.actions")
               for action in assertion.get("data", {}).get("actions", [])]
    return {
        "state": state,
        "valid": state in ("Valid", "Trusted"),
        "trusted": state == "Trusted",
        "claim_generator": [entry.get("name") for entry in manifest.get("claim_generator_info", [])],
        "digital_source_type": next((kind for kind, _ in created if kind), None),
        "software_agent": next((agent for _, agent in created if agent), None),
        "failures": failures,
    }


def signed_by(path: Path, signer: C2PASigner) -> bool:
    """Whether the file carries a manifest whose claim `signer`'s credentials signed (whether or
    not the file still matches it: a copy with its bytes changed still claims to be our render).

    With the instance's own CA, the signing certificate must chain to its root, the only trust
    anchor given (so a renewed end-entity certificate still counts); with a deployment's chain,
    it must be the chain's own end-entity certificate (compared by issuer and serial number).
    Blocking."""
    import c2pa

    settings: dict[str, Any] = {}
    if signer.trust_anchor is not None:
        settings = {"trust": {"trust_anchors": signer.trust_anchor.decode()},
                    "verify": {"verify_trust": True}}
    with open(path, "rb") as stream:
        try:
            reader = c2pa.Reader("video/mp4", stream,
                                 context=c2pa.Context.from_dict(settings) if settings else None)
        except c2pa.C2paError:
            return False
        with reader:
            info = (reader.get_active_manifest() or {}).get("signature_info") or {}
            results = (reader.get_validation_results() or {}).get("activeManifest", {})
    succeeded = {entry.get("code") for entry in results.get("success", [])}
    if "claimSignature.validated" not in succeeded:
        return False
    if signer.trust_anchor is not None:
        return "signingCredential.trusted" in succeeded
    leaf = x509.load_pem_x509_certificate(signer.cert_chain)
    return info.get("cert_serial_number") == str(leaf.serial_number) \
        and info.get("issuer") == _organization(leaf.issuer)


def _organization(name: x509.Name) -> str | None:
    """The name c2pa reports as a certificate's issuer: its organization."""
    found = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(found[0].value) if found else None


def signer_for(config: GenerationConfig, data_dir: Path, instance_name: str = "Likeness",
               ) -> C2PASigner | None:
    """The signer a worker passes to render_video: None when provenance is off, the deployment's
    chain when configured, else the instance's own CA under data_dir/c2pa."""
    if not config.provenance:
        return None
    return C2PASigner.for_instance(Path(data_dir) / "c2pa", cert_chain=config.c2pa_cert_chain,
                                   private_key=config.c2pa_private_key, instance_name=instance_name)
