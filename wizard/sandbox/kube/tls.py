"""A self-signed certificate so kubectl can talk to the sandbox's API server over TLS.

kubectl (client-go) only sends a kubeconfig's credentials over ``https``: against a plain
``http://`` server it sends no token at all, and the server must answer 401. The API server
therefore answers TLS and plain HTTP on the same port (it peeks at the first byte), and the
kubeconfig points kubectl at ``https://127.0.0.1:PORT`` with this certificate as its CA. The
key and certificate are kept in ``data_dir`` so a restart keeps kubeconfigs valid.
"""

from __future__ import annotations

import datetime
import os
import ssl
from pathlib import Path

CERT_FILE = "apiserver.crt"
KEY_FILE = "apiserver.key"


def ensure_certificate(data_dir: Path) -> tuple[Path, Path]:
    """The (certificate, key) paths in ``data_dir``, creating them on first use."""
    cert, key = Path(data_dir) / CERT_FILE, Path(data_dir) / KEY_FILE
    if cert.exists() and key.exists():
        return cert, key
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labwiz-sandbox-apiserver")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default.svc")]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(private, hashes.SHA256())
    )
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    key_tmp = key.with_name(".apiserver.key.tmp")
    fd = os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    cert_tmp = cert.with_name(".apiserver.crt.tmp")
    cert_tmp.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(key_tmp, key)
    os.replace(cert_tmp, cert)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server-side TLS context."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
