"""What the server keeps and logs holds no secret it was given, and it speaks TLS off loopback.

A client seals a known phrase with AES-GCM and uploads it as a member's wrapped case key; then
every byte of every file in the server's data folder, and everything the server process wrote
to stdout and stderr, is searched for the phrase in UTF-8, UTF-16 (LE and BE), base64 (all three
alignments) and hex. The search is shown to work first: it finds the uploaded ciphertext, the
hashes the server does keep, and the phrase in files made to hold it. Device tokens and
enrolment codes are searched for the same way: only their hashes may be kept.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.scanning import found_in
from tests.server.conftest import CLI, ROOT, RunningServer, free_port, run_cli, running_server

PHRASE = "Marigold Uxbridge relapse 4471"


def scan(files: Iterable[Path], secret: str) -> list[tuple[str, str]]:
    """(file name, encoding) for every file holding `secret` in some encoding."""
    return [(path.name, name) for path, name in found_in(files, secret)]


def holding(files: Iterable[Path], needle: str) -> list[str]:
    """The names of the files holding `needle` verbatim (UTF-8)."""
    return [path.name for path in files if needle.encode() in path.read_bytes()]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class SealedRun:
    """A finished server run: what the client uploaded and every file the server left."""

    blob: str
    token: str
    codes: tuple[str, ...]
    data_files: tuple[Path, ...]
    log_files: tuple[Path, ...]

    @property
    def all_files(self) -> tuple[Path, ...]:
        return self.data_files + self.log_files


@pytest.fixture(scope="module")
def sealed(server: RunningServer) -> SealedRun:
    """Enrol rc1, share the sealed phrase as iw1's and rc1's wrapped key for c1, read it back,
    make some refused calls carrying it too, then stop the server so every log line is out."""
    token = server.enrol("rc1", device_name="rc1 laptop")
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed_phrase = nonce + AESGCM(key).encrypt(nonce, PHRASE.encode(), b"c1|1")
    blob = base64.b64encode(sealed_phrase).decode()
    assert AESGCM(key).decrypt(nonce, sealed_phrase[12:], b"c1|1") == PHRASE.encode()

    upload = {"keys": [{"version": 1, "user_id": user, "wrapped_key": blob}
                       for user in ("iw1", "rc1")]}
    put = server.request("PUT", "/v1/cases/c1/keys", token=token, json=upload)
    assert put.status_code == 204, put.text
    got = server.request("GET", "/v1/cases/c1/keys", token=token).json()
    assert [k["wrapped_key"] for k in got] == [blob]
    for case, user, expected in (("c2", "rc2", 404), ("c1", "rc2", 403)):
        refused = server.request("PUT", f"/v1/cases/{case}/keys", token=token, json={
            "keys": [{"version": 2, "user_id": user, "wrapped_key": blob}]})
        assert refused.status_code == expected, refused.text
    unused = server.new_code("sup1")  # a code handed out and never used
    assert server.request("GET", "/v1/me", token=unused).status_code == 401

    server.stop()
    data_files = tuple(sorted(p for p in server.data_dir.rglob("*") if p.is_file()))
    return SealedRun(blob, token, tuple(server.codes), data_files,
                     (server.stdout_path, server.stderr_path))


def test_the_scan_finds_the_phrase_in_every_encoding(tmp_path: Path) -> None:
    """The search is not blind: each encoding of the phrase, alone or inside other text, is
    found, and a file without it is not."""
    raw = PHRASE.encode()
    samples = {
        "utf-8": b"x" + raw + b"y",
        "utf-16-le": b"\x00" + PHRASE.encode("utf-16-le"),
        "utf-16-be": PHRASE.encode("utf-16-be"),
        "base64": b"aa" + base64.b64encode(b"xy" + raw + b"z"),
        "hex": b"00" + raw.hex().upper().encode(),
    }
    for name, content in samples.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "clean").write_bytes(b"Marigold Uxbridge relapse 4470" * 3)
    hits = set(scan(sorted(tmp_path.iterdir()), PHRASE))
    assert {(name, name) for name in samples} <= hits
    assert {file for file, _ in hits} == set(samples)


def test_sealed_phrase_never_reaches_the_data_folder_or_logs(sealed: SealedRun) -> None:
    """The sealed phrase is stored as sent (the scan finds the ciphertext) and nowhere in
    plaintext; request bodies, ciphertext included, are not logged."""
    assert {p.name for p in sealed.data_files} >= {"server.sqlite3"}
    assert holding(sealed.data_files, sealed.blob), "the scan does not see the stored keys"
    logs = "".join(p.read_text() for p in sealed.log_files)
    assert '"route": "/v1/cases/{case_id}/keys", "status": 204' in logs, logs
    assert scan(sealed.all_files, PHRASE) == []
    assert holding(sealed.log_files, sealed.blob) == []


def test_device_token_is_kept_only_as_a_hash(sealed: SealedRun) -> None:
    """The device token appears in no file and no log line; its SHA-256 is what is kept."""
    assert holding(sealed.data_files, _sha256(sealed.token)), "the scan does not see the hash"
    assert scan(sealed.all_files, sealed.token) == []


def test_enrolment_codes_are_kept_only_as_hashes(sealed: SealedRun) -> None:
    """Neither the spent code nor the unused one appears in any file or log line; their
    SHA-256 hashes are what is kept."""
    assert len(sealed.codes) == 2
    for code in sealed.codes:
        assert holding(sealed.data_files, _sha256(code)), "the scan does not see the hash"
        assert scan(sealed.all_files, code) == []
        assert scan(sealed.all_files, code.replace("-", "")) == []


@pytest.mark.parametrize("tls_args", [(), ("--cert", "server.pem")], ids=["no-tls", "cert-only"])
def test_plain_http_off_loopback_is_refused(tmp_path: Path, tls_args: tuple[str, ...]) -> None:
    """`serve --host 0.0.0.0` without both --cert and --key exits 2 with the refusal, at once."""
    args = [sys.executable, "-c", CLI, "--data", str(tmp_path / "data"), "serve", "--host",
            "0.0.0.0", "--port", str(free_port()),  # noqa: S104 - the address being refused
            *(arg if arg.startswith("--") else str(tmp_path / arg) for arg in tls_args)]
    try:
        result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=15,
                                check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started serving plain HTTP on 0.0.0.0")
    assert result.returncode == 2, result.stdout + result.stderr
    expected = "Give both --cert and --key" if tls_args else \
        "Refusing plain HTTP on a non-loopback address"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("damage", "expected"), [
    ("missing", "does not exist"),
    ("unreadable", "cannot be read by this user"),
    ("garbage", "cannot be used together"),
], ids=["missing", "unreadable", "not a certificate"])
def test_a_tls_file_that_cannot_be_used_is_said_plainly(tmp_path: Path, damage: str,
                                                         expected: str) -> None:
    """A certificate the server cannot use stops `serve` with a sentence and exit 2, never a
    traceback (under systemd it would otherwise restart every few seconds with one)."""
    cert, key = _self_signed(tmp_path)
    if damage == "missing":
        cert.unlink()
    elif damage == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads every file")
        cert.chmod(0)
    else:
        cert.write_text("not a certificate")
    args = [sys.executable, "-c", CLI, "--data", str(tmp_path / "data"), "serve", "--port",
            str(free_port()), "--cert", str(cert), "--key", str(key)]
    try:
        result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=15,
                                check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started with a certificate it cannot use")
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (CN and IP SAN) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_serves_https_with_the_given_certificate(tmp_path: Path) -> None:
    """With --cert and --key the server speaks TLS: /health answers over HTTPS to a client that
    trusts exactly that certificate; an untrusting client and plain HTTP get nothing."""
    cert, key = _self_signed(tmp_path)
    run_cli(tmp_path / "data", "init", "--name", "TLS program")
    trust = ssl.create_default_context(cafile=str(cert))
    with running_server(tmp_path / "data", tmp_path / "logs", cert=cert, key=key,
                        verify=trust) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        with server.client() as client:
            health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        with httpx.Client(verify=True, trust_env=False, timeout=5) as untrusting, \
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.get(f"{server.base_url}/health")
        plain = server.base_url.replace("https://", "http://")
        with httpx.Client(trust_env=False, timeout=5) as client, \
                pytest.raises(httpx.TransportError):
            client.get(f"{plain}/health")
