"""The real validators the consent tests run on signed PDFs: pyHanko's CLI, pdfsig, pdftotext."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PYHANKO = shutil.which("pyhanko") or str(Path(sys.executable).parent / "pyhanko")


def pyhanko_validate(
    pdf_path: Path, root_pem: Path, extra_trust: list[Path] = ()
) -> subprocess.CompletedProcess:
    """`pyhanko sign validate --trust root.pem` with only the given roots trusted."""
    trust = [arg for pem in (root_pem, *extra_trust) for arg in ("--trust", str(pem))]
    return subprocess.run(
        [PYHANKO, "sign", "validate", *trust, "--trust-replace", str(pdf_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def pdfsig(pdf_path: Path) -> str:
    """poppler's `pdfsig -nocert` (integrity and coverage, without a trust database)."""
    return subprocess.run(
        ["pdfsig", "-nocert", str(pdf_path)], capture_output=True, text=True, timeout=60
    ).stdout


def pdftotext(pdf_path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, timeout=60
    ).stdout
