"""The HTML report renders in a real headless Chromium, offline, and the screenshot is not blank.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); without it the test is skipped
with that reason. Network is cut for the browser (a dead proxy, no DNS), so anything the page
tried to fetch would be missing from the screenshot and show up as a failed request.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from rewardsmith.audit.overopt import bon_distance, fit_overoptimization
from rewardsmith.audit.report import write_report
from rewardsmith.audit.rm import evaluate_rm
from rewardsmith.core.spec import load_spec
from rewardsmith.engine.files import score_file
from rewardsmith.io.runlog import RunLog

BROWSER = next(
    (
        shutil.which(name)
        for name in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(name)
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="headless Chromium not installed: run `apt-get install -y chromium` to check the HTML report",
)
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def _report(tmp_path: Path) -> Path:
    rows = [
        {
            "id": f"s{step}-{k}",
            "step": step,
            "reference": "4",
            "completion": f"<think>{'x ' * (5 + 7 * k + 40 * step)}</think><answer>{'4' if (k + step) % 3 else '5'}</answer>",
        }
        for step in range(5)
        for k in range(30)
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = load_spec(
        {
            "name": "demo",
            "terms": [
                {"name": "format", "use": "format.tags", "weight": 0.3},
                {
                    "name": "answer",
                    "use": "regex",
                    "params": {"pattern": "<answer>4</answer>", "mode": "search"},
                },
            ],
        }
    )
    log_dir = tmp_path / "runs"
    score_file(data, spec, log_dir=log_dir, workers=1, output=tmp_path / "out.jsonl")
    pairs = [
        {
            "subset": "s",
            "chosen": "x",
            "rejected": "y",
            "score_chosen": float(k % 7),
            "score_rejected": float(k % 5),
        }
        for k in range(60)
    ]
    rm = evaluate_rm(pairs, None).to_dict()
    points = [
        {"n": n, "proxy": 0.3 * d, "gold": d * (0.5 - 0.1 * d)}
        for n in (1, 2, 4, 16, 64, 256, 1024, 4096)
        for d in [bon_distance(n)]
    ]
    log = RunLog(log_dir)
    return write_report(
        log,
        log.latest(),
        tmp_path / "report.html",
        rm=rm,
        overopt=fit_overoptimization(points, bootstrap=50),
    )


def _decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Pixels of an 8-bit, non-interlaced RGB(A) PNG (what Chromium writes): width, height,
    bytes per pixel, rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1 : i + 1 + stride])
        i += 1 + stride
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_report_is_self_contained(tmp_path: Path) -> None:
    html = _report(tmp_path).read_text()
    assert not re.search(r"\b(src|href)\s*=", html), "the report must not load or link anything"
    assert "url(" not in html and "@import" not in html and "<script" not in html
    external = set(re.findall(r"https?://[^\"' >]+", html))
    assert external <= {"http://www.w3.org/2000/svg"}, (
        external
    )  # the SVG namespace is a name, not a fetch


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = _report(tmp_path)
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            BROWSER,
            *OFFLINE_FLAGS,
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file(), result.stderr[-2000:]
    width, height, bpp, rows = _decode_png(shot.read_bytes())
    assert (width, height) == (1200, 2400)
    pixels = [row[x : x + 3] for row in rows[::4] for x in range(0, width * bpp, bpp * 4)]
    background = {b"\xff\xff\xff", b"\xf8\xfa\xfc"}  # white cards, page background
    drawn = sum(1 for p in pixels if p not in background) / len(pixels)
    assert drawn > 0.05, f"only {drawn:.1%} of the screenshot differs from the background"
    assert len(set(pixels)) > 50
    header = rows[20][600 * bpp : 600 * bpp + 3]
    assert header == bytes((0x1E, 0x29, 0x3B)), header  # the dark header band is painted

    def near(p: bytes, rgb: tuple[int, int, int]) -> bool:
        return all(abs(a - b) <= 12 for a, b in zip(p, rgb, strict=True))

    colours = {row[x : x + 3] for row in rows for x in range(0, width * bpp, bpp)}
    bar_blue = tuple(
        round(0.75 * c + 0.25 * 255) for c in (0x25, 0x63, 0xEB)
    )  # fill-opacity 0.75 on white
    assert any(near(p, (0x25, 0x63, 0xEB)) for p in colours), "no chart line in the chart colour"
    assert any(near(p, bar_blue) for p in colours), "no histogram bar drawn"  # type: ignore[arg-type]
    assert any(near(p, (0xDC, 0x26, 0x26)) for p in colours), "no red (warnings, gold curve) drawn"
    dom = subprocess.run(
        [BROWSER, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.stdout.count("<svg") >= 8, dom.stderr[-2000:]
    assert "Over-optimization" in dom.stdout and "Calibration" in dom.stdout
