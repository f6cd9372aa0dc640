"""``python -m rfm_core fetch-uci``: download the original Online Retail workbook from the UCI repository.

Verification: the byte count must equal the server's Content-Length (no truncation); the archive's own CRC-32 of
every member must match (no corruption); the workbook must be inside and open. A SHA-256 can be pinned with
``--sha256`` or ``RFM_UCI_SHA256``. No digest is built in: the archive could not be downloaded where this code was
written (no network), and a made-up one would be worse than none. Without a pin, the first download's SHA-256 is
recorded in the cache manifest and every later use is checked against it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from .errors import InputFileError
from .read import file_sha256, list_sheets

__all__ = ["UCI_URL", "WORKBOOK", "default_cache_dir", "fetch_uci"]

UCI_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
WORKBOOK = "Online Retail.xlsx"
MANIFEST = "online_retail.manifest.json"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rfm_core``, else ``~/.cache/rfm_core`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rfm_core"


def fetch_uci(cache_dir: Path | None = None, url: str = UCI_URL, sha256: str | None = None,
              timeout: float = 60.0, progress: Callable[[str], None] | None = None) -> Path:
    """The path of the cached workbook, downloading and verifying it first when needed.

    Raises
    ------
    InputFileError
        Offline, HTTP errors, truncated or corrupt downloads, a checksum mismatch, or a changed cached file.
    """
    cache = cache_dir or default_cache_dir()
    pin = (sha256 or os.environ.get("RFM_UCI_SHA256") or "").lower() or None
    target = cache / WORKBOOK
    manifest_path = cache / MANIFEST
    if target.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if file_sha256(target) != manifest.get("workbook_sha256"):
            raise InputFileError(f"The cached {target} has changed since it was downloaded. Delete {cache} and "
                                 "fetch it again.")
        if pin and manifest.get("archive_sha256") != pin:
            raise InputFileError(f"The cached archive's SHA-256 {manifest.get('archive_sha256')} is not the pinned "
                                 f"{pin}. Delete {cache} and fetch it again.")
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        archive = Path(tmp) / "online_retail.zip"
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "rfm_core"})
            with urllib.request.urlopen(request, timeout=timeout) as response, archive.open("wb") as out:
                expected = int(response.headers.get("Content-Length") or -1)
                got = 0
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    got += len(block)
                    if progress and expected > 0:
                        progress(f"Downloaded {got / 1e6:.1f} of {expected / 1e6:.1f} MB")
        except urllib.error.HTTPError as exc:
            raise InputFileError(f"The UCI repository answered {exc.code} {exc.reason} for {url}. Try again later or "
                                 "download the workbook by hand.") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputFileError(f"Could not download {url} ({reason}). Are you offline? Download it by hand from "
                                 "https://archive.ics.uci.edu/dataset/352/online+retail and pass the workbook to "
                                 "`python -m rfm_core segment`.") from None
        if expected >= 0 and got != expected:
            raise InputFileError(f"The download stopped after {got:,} of {expected:,} bytes. Try again.")
        digest = file_sha256(archive)
        if pin and digest != pin:
            raise InputFileError(f"The download's SHA-256 {digest} is not the pinned {pin}; it was not kept.")
        try:
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()  # CRC-32 of every member
                if bad is not None:
                    raise InputFileError(f"The downloaded archive is corrupt ({bad} fails its checksum). Try again.")
                if WORKBOOK not in zf.namelist():
                    raise InputFileError(f"The downloaded archive has no {WORKBOOK!r} (it has "
                                         f"{', '.join(zf.namelist()[:5])}). The repository may have changed.")
                zf.extract(WORKBOOK, tmp)
        except (zlib.error, EOFError) as exc:  # a flipped bit can break the deflate stream before the CRC is read
            raise InputFileError(f"The downloaded archive is corrupt ({exc}). Try again.") from None
        except zipfile.BadZipFile:
            raise InputFileError("The download is not a zip archive; the repository may have changed. Try again "
                                 "later or download the workbook by hand.") from None
        list_sheets(Path(tmp) / WORKBOOK)  # it must open as a workbook
        shutil.move(str(Path(tmp) / WORKBOOK), target)
    manifest_path.write_text(json.dumps({
        "url": url, "archive_bytes": got, "archive_sha256": digest, "workbook_sha256": file_sha256(target),
        "downloaded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "pinned": pin is not None}, indent=1))
    return target
