"""The local endpoint's certificate authority for its RDS servers: one CA per state dir (the
bundle the tasks fetch, as RDS hands out its global bundle: RDS user guide, "Using SSL/TLS
to encrypt a connection to a DB instance") and a server certificate per DB instance for
the names it is reached by.

This module's room: keys and certificates, written 0600; running the servers is
rds_postgres.py's.
"""


from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

# Names the server certificate holds (verify-full checks the host the client dialled).
CERT_NAMES = ("localhost", "127.0.0.1", "::1")


# --- the CA ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """The endpoint's CA: the bundle clients verify with, and its key to sign servers."""

    directory: Path

    @property
    def bundle(self) -> Path:
        return self.directory / "global-bundle.pem"

    @property
    def key(self) -> Path:
        return self.directory / "ca.key"

    def ensure(self) -> Authority:
        """Made once per state dir and kept: a DB restored later still verifies."""
        if self.bundle.is_file() and self.key.is_file():
            return self
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stackgen local"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "stackgen local RDS root CA")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        write_private(self.key, key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return self

    def issue(self, cert_path: Path, key_path: Path, names: tuple[str, ...] = CERT_NAMES) -> None:
        """A server certificate for ``names`` (DNS names and IP addresses)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        ca_cert = x509.load_pem_x509_certificate(self.bundle.read_bytes())
        ca_key = serialization.load_pem_private_key(self.key.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=825))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


