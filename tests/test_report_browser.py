"""The report in a real browser: headless Chromium loads the page without console errors or network requests,
keeps every section and picture in its DOM, and paints a screenshot with the classes' colours."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from wellposed.cli import main
from wellposed.docs_tools import run_chromium
from wellposed.render import SECTIONS
from wellposed.render.svg import PALETTE

pytestmark = pytest.mark.requires_chromium

def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with the flags of :data:`wellposed.docs_tools.CHROMIUM_FLAGS` and a fresh profile."""
    code, out, err = run_chromium(args, tmp_path / "profile")
    return subprocess.CompletedProcess(["chromium", *args], code, out, err)


def read_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG into an (h, w, 3) array (the five row filters)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.int64)
    prev = np.zeros(width * channels, dtype=np.int64)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        row = np.zeros_like(line)
        if kind in (0, 2):
            row = (line + (prev if kind == 2 else 0)) % 256
        else:
            for x in range(len(line)):
                left = row[x - channels] if x >= channels else 0
                up, up_left = prev[x], (prev[x - channels] if x >= channels else 0)
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) // 2
                else:  # Paeth
                    p = left + up - up_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                    pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[x] = (line[x] + pred) % 256
        out[y], prev = row, row
    return out.reshape(height, width, channels)[:, :, :3]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "lu3.html"
    assert main(["report", "lu:3", "--out", str(path)]) == 0
    return path


def test_dom_keeps_every_section_and_picture(page: Path, tmp_path: Path) -> None:
    proc = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    for section in SECTIONS:
        assert f'<section id="{section}">' in dom
    assert dom.count("<svg") == 9 and "</html>" in dom


def test_screenshot_is_painted_with_the_class_colours_and_no_console_error(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1200,2000",
                    page.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    log = proc.stderr
    assert "CONSOLE" not in log and "Uncaught" not in log, log[-2000:]
    assert "net::ERR" not in log and "Failed to load resource" not in log, log[-2000:]
    pixels = read_png(shot.read_bytes())
    assert pixels.shape == (2000, 1200, 3)
    flat = pixels.reshape(-1, 3)
    colours = np.unique(flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2])
    assert len(colours) > 50  # text, grids, shades, graph and charts: far from blank
    non_white = np.any(flat < 245, axis=1).mean()
    assert 0.03 < non_white < 0.9
    painted = {f"#{int(c):06x}" for c in colours}
    assert PALETTE[0] in painted and PALETTE[1] in painted and PALETTE[2] in painted  # lu:3 has three classes
