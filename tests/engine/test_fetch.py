"""fetch-uci against a local HTTP server: success and cache, pins, truncation, corruption, HTTP errors, offline."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rfm_core import InputFileError
from rfm_core.fetch import WORKBOOK, fetch_uci
from tests.conftest import ROOT
from tests.data.corpus import transaction_rows, xlsx_bytes


def _archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(WORKBOOK, xlsx_bytes({"Online Retail": transaction_rows()}))
    return buf.getvalue()


GOOD = _archive()


def _corrupt(data: bytes) -> bytes:
    """Flip a byte inside the member's compressed data: the archive still opens but the CRC-32 fails."""
    raw = bytearray(data)
    start = raw.index(WORKBOOK.encode()) + len(WORKBOOK) + 200
    raw[start] ^= 0xFF
    return bytes(raw)


def _broken_deflate(data: bytes) -> bytes:
    """Set the member's first deflate block to the reserved type: zlib fails before any CRC-32 is computed."""
    raw = bytearray(data)
    start = raw.index(WORKBOOK.encode()) + len(WORKBOOK)  # the local header's name; no extra field (writestr)
    raw[start] = 0xFF  # BTYPE 11: "invalid block type"
    return bytes(raw)


ROUTES: dict[str, tuple[int, bytes, int | None]] = {
    "/broken-deflate.zip": (200, _broken_deflate(GOOD), None),
    "/good.zip": (200, GOOD, None),
    "/truncated.zip": (200, GOOD[: len(GOOD) // 2], len(GOOD)),
    "/corrupt.zip": (200, _corrupt(GOOD), None),
    "/notzip.zip": (200, b"<html>moved</html>", None),
    "/missing.zip": (404, b"not found", None),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body, claimed = ROUTES.get(self.path, (404, b"", None))
        self.send_response(status)
        self.send_header("Content-Length", str(claimed if claimed is not None else len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client may stop reading a truncated body early
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verify_and_cache(server: str, tmp_path: Path) -> None:
    path = fetch_uci(tmp_path, f"{server}/good.zip")
    assert path.name == WORKBOOK and path.read_bytes()[:2] == b"PK"
    manifest = (tmp_path / "online_retail.manifest.json").read_text()
    assert hashlib.sha256(GOOD).hexdigest() in manifest
    assert fetch_uci(tmp_path, f"{server}/missing.zip") == path  # served from the cache, no download
    path.write_bytes(b"tampered")
    with pytest.raises(InputFileError, match="has changed"):
        fetch_uci(tmp_path, f"{server}/good.zip")


def test_pinned_checksum(server: str, tmp_path: Path) -> None:
    good = hashlib.sha256(GOOD).hexdigest()
    assert fetch_uci(tmp_path / "a", f"{server}/good.zip", sha256=good).exists()
    with pytest.raises(InputFileError, match="not the pinned"):
        fetch_uci(tmp_path / "b", f"{server}/good.zip", sha256="0" * 64)
    assert not (tmp_path / "b" / WORKBOOK).exists()


@pytest.mark.parametrize(("route", "message"), [
    ("/truncated.zip", "stopped after"), ("/corrupt.zip", "corrupt|not a zip"), ("/notzip.zip", "not a zip"),
    ("/missing.zip", "404"), ("/broken-deflate.zip", "corrupt"),
], ids=["truncated", "corrupt", "not-a-zip", "http-404", "broken-deflate"])
def test_bad_downloads_are_refused_and_not_kept(server: str, tmp_path: Path, route: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        fetch_uci(tmp_path, f"{server}{route}", timeout=10)
    assert not (tmp_path / WORKBOOK).exists()


def test_offline_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputFileError, match="offline"):
        fetch_uci(tmp_path, f"http://127.0.0.1:{port}/x.zip", timeout=5)


def test_cli_fetch_then_segment(server: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "rfm_core", "fetch-uci", "--cache", str(tmp_path), "--url",
                           f"{server}/good.zip"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    workbook = proc.stdout.strip()
    seg = subprocess.run([sys.executable, "-m", "rfm_core", "segment", workbook], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert seg.returncode == 0 and "3 customers" in seg.stderr
    bad = subprocess.run([sys.executable, "-m", "rfm_core", "fetch-uci", "--cache", str(tmp_path / "x"), "--url",
                          f"{server}/missing.zip"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
