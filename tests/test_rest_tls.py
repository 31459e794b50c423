"""The REST transport over TLS: handshake, certificate check, keep-alive, send stamp."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messages.errors import NotSent, VenueError
from venue.keepalive import KeepAliveAdapter
from venue.rest import ClobClient

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        data = b"1780000000"
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the failed handshake of the untrusted-certificate test


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_round_trips_on_one_connection(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    client = ClobClient(url, address="0x" + "0" * 40, creds=None, timeout_s=2,
                        ssl_context=ssl.create_default_context(cafile=str(cert)))
    try:
        assert client.server_time() == 1_780_000_000
        first = client.adapter._conn.sock
        assert client.server_time() == 1_780_000_000
        assert client.adapter._conn.sock is first  # kept alive
        assert 0 < client.last_send_ns <= client.last_recv_ns
    finally:
        client.close()


def test_untrusted_certificate_fails_before_sending(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    client = ClobClient(url, address="0x" + "0" * 40, creds=None, timeout_s=2)
    try:
        with pytest.raises(VenueError) as info:
            client.server_time()
    finally:
        client.close()
    assert type(info.value) is NotSent and "not sent" in str(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def test_default_https_adapter_verifies_with_requests_ca_bundle() -> None:
    t = KeepAliveAdapter("https://clob.polymarket.com", connect_timeout_s=1, timeout_s=2)
    conn: Any = t._conn
    assert conn.ssl_context.verify_mode == ssl.CERT_REQUIRED and conn.ssl_context.check_hostname
    assert conn.port == 443 and conn.host_header == b"clob.polymarket.com"
    assert t.origin == "https://clob.polymarket.com"
    t.close()
