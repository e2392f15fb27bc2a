"""A self-signed certificate for the API, made on first start: the original's clients always
speak https and never verify, so a node must answer TLS out of the box."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def ensure_certificate(cert_path: str, key_path: str, hostname: str) -> None:
    if Path(cert_path).exists() and Path(key_path).exists():
        return
    _private_dir(Path(cert_path).parent)
    _private_dir(Path(key_path).parent)
    # ECDSA P-256: the cheapest handshake, which matters with one connection per request.
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for candidate in {hostname, "127.0.0.1", "::1"}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(candidate)))
        except ValueError:
            names.append(x509.DNSName(candidate))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64] or "pscheduler")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    fd = os.open(cert_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))


def make_private(state_dir: str) -> None:
    """Files the node keeps in its state dir are its own: 0600 files, 0700 directories.

    The state dir itself is left as it is (the embedded PostgreSQL may run as another user
    when the node runs as root, and must reach its data directory through it).
    """
    base = Path(state_dir)
    for name in ("node.log", "tls", "prometheus"):
        path = base / name
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o700)
            for child in path.rglob("*"):
                if not child.is_symlink():
                    os.chmod(child, 0o700 if child.is_dir() else 0o600)
        elif path.is_file():
            os.chmod(path, 0o600)
