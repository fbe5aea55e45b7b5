"""The live page in a real browser (Chromium driven by Playwright): write a word with the mouse and see it read;
upload images and see their text. Screenshots go to the test's folder, and to $SCRIBA_SCREENSHOTS if set."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extras)")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BOX = (40.0, 30.0, 560.0, 190.0)  # where on the canvas (CSS px: left, top, width, height) a word is written


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scriba.cli", "serve", "--port", str(port), "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"scriba serve did not start: {output[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def post_ink(url: str, strokes: list[list[list[float]]]) -> str:
    request = urllib.request.Request(
        f"{url}/v1/read/ink", json.dumps({"strokes": strokes}).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["results"][0]["text"])


def fit(ink: list[np.ndarray]) -> list[list[list[float]]]:
    """Strokes scaled into BOX (keeping their shape) and rounded to whole pixels, as a mouse would draw them."""
    points = np.concatenate(ink)
    low, size = points.min(axis=0), np.maximum(points.max(axis=0) - points.min(axis=0), 1)
    scale = min(BOX[2] / size[0], BOX[3] / size[1])
    return [np.round((s - low) * scale + BOX[:2]).tolist() for s in ink]


def word_to_draw(url: str) -> tuple[list[list[list[float]]], str]:
    """A real pen word the server reads right once fitted to the canvas, and its text (IAM-OnDB `testset_t`);
    without the data, the ink example `hello` (a word in the Hershey script font)."""
    if not (SHARED / "iam_ondb").is_dir():
        from scriba.data.inkio import read_ink_file

        return fit(read_ink_file(REPO / "examples" / "ink" / "hello.json")), "hello"
    from scriba.data.sources import SourceConfig, read_source

    records = read_source(SourceConfig(str(SHARED / "iam_ondb"), kind="iam_ondb_words", split="testset_t"))
    for record in records[:200]:
        if record.text and len(record.text) >= 5 and record.text.isalpha():
            strokes = fit(record.ink or [])
            if post_ink(url, strokes) == record.text:
                return strokes, record.text
    pytest.fail("none of 200 real words read right through the API")


def draw(page: object, strokes: list[list[list[float]]]) -> None:
    canvas = page.locator("#pad").bounding_box()  # type: ignore[attr-defined]
    mouse = page.mouse  # type: ignore[attr-defined]
    for stroke in strokes:
        mouse.move(canvas["x"] + stroke[0][0], canvas["y"] + stroke[0][1])
        mouse.down()
        for x, y in stroke[1:]:
            mouse.move(canvas["x"] + x, canvas["y"] + y)
        mouse.up()


def screenshot(page: object, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    if os.environ.get("SCRIBA_SCREENSHOTS"):
        Path(os.environ["SCRIBA_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["SCRIBA_SCREENSHOTS"]) / name)
    return path


def test_writing_on_the_page_reads_the_word(server: str, browser: object, tmp_path: Path) -> None:
    strokes, expected = word_to_draw(server)
    page = browser.new_page(viewport={"width": 900, "height": 700})  # type: ignore[attr-defined]
    sent: list[dict[str, object]] = []
    page.on("request", lambda r: r.url.split("?")[0].endswith("/v1/read/ink") and sent.append(r.post_data_json))
    page.goto(server)
    page.wait_for_selector("#ink-model option", state="attached")
    draw(page, strokes)
    page.wait_for_function("expected => document.querySelector('#reading').dataset.text === expected", arg=expected)
    assert page.locator("#reading").inner_text() == expected
    assert page.locator("#alternatives button").count() >= 2
    last = sent[-1]["strokes"]  # what the page sent: every stroke, with time and pressure, in canvas pixels
    assert isinstance(last, list) and len(last) == len(strokes) and len(last[0][0]) == 4
    assert post_ink(server, last) == expected
    timings = page.evaluate("window.scribaTimings")
    assert timings and all(0 < t < 10_000 for t in timings)
    assert screenshot(page, tmp_path, "live_page.png").stat().st_size > 10_000
    page.click("#undo")
    page.click("#clear")
    assert page.locator("#reading").inner_text() == ""
    page.close()


def test_uploading_images_reads_them(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 700})  # type: ignore[attr-defined]
    page.goto(server)
    page.click("#tab-photo")
    page.set_input_files("#files", [str(REPO / "examples" / "hello.png"), str(REPO / "examples" / "line.png")])
    page.wait_for_function("document.querySelectorAll('#photo-results li').length === 2")
    texts = page.locator("#photo-results .reading").all_inner_texts()
    assert texts == ["hello", "Read this line, please."]
    screenshot(page, tmp_path, "photo_tab.png")
    page.set_input_files("#files", [str(REPO / "README.md")])
    page.wait_for_selector("#photo-error:not([hidden])")
    assert "not an image" in page.locator("#photo-error").inner_text()
    page.close()
