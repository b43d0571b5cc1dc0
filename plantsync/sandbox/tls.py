"""Throw-away TLS material for the sandbox: a CA and a server certificate made at start.

Clients trust the sandbox by the CA's PEM (``tls.ca_bundle_pem`` in the sandbox's info), the
same way a connection trusts an on-premise ERP behind an internal CA. The certificates follow
the rules strict verifiers apply (key usages, subject/authority key identifiers, SANs for the
host names and addresses the sandbox answers on).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TLSMaterial:
    """PEM text of the CA certificate, the server certificate (+ CA) and its private key."""

    ca_pem: str
    cert_chain_pem: str
    key_pem: str

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write the server's certificate chain and key (mode 0600); returns their paths."""
        cert = directory / "server.pem"
        key = directory / "server.key"
        cert.write_text(self.cert_chain_pem, encoding="ascii")
        key.touch(mode=0o600)
        key.write_text(self.key_pem, encoding="ascii")
        return cert, key

    def temp_files(self) -> tuple[tempfile.TemporaryDirectory[str], Path, Path]:
        """The chain and key in a fresh temporary directory (the caller cleans it up)."""
        tmp = tempfile.TemporaryDirectory(prefix="plantsync-sandbox-tls-")
        cert, key = self.write(Path(tmp.name))
        return tmp, cert, key


def generate(hosts: Iterable[str] = DEFAULT_HOSTS, *, days: int = 30) -> TLSMaterial:
    """A new CA and a server certificate for ``hosts`` (DNS names and IP addresses)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PlantSync sandbox CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PlantSync sandbox")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = _pem(ca_cert)
    return TLSMaterial(
        ca_pem=ca_pem,
        cert_chain_pem=_pem(cert) + ca_pem,
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
