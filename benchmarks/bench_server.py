"""`scriba serve` under load, under bad input, and in the browser.

    python benchmarks/bench_server.py [--clients 16] [--seconds 20] [--max-batch 32 1] [--backend torch onnx]
                                      [--malformed 1000]
                                      [--fuzz 30] [--page 20] [--skip load malformed fuzz page]

Starts `scriba serve` on a free loopback port (with ``--max-batch N``: 1 reads every request alone, to measure
what batching concurrent requests buys) and measures:
- load: ``--clients`` concurrent keep-alive clients for ``--seconds`` each, on ``/v1/read/ink`` (IAM-OnDB
  `testset_t` words, ``english_pen``) and on ``/v1/read`` (the same words drawn to PNG as `english` draws ink,
  one image per request; examples/*.png without ../shared/data): requests/s, p50/p95/p99 latency, errors.
  The clients are one asyncio process sending pre-built requests, so they cost the 2 cores little.
- malformed: ``--malformed`` bad requests (garbage bytes as an image, truncated multipart, a 50 MB body, 10^6
  points, NaN coordinates, wrong content types, ...): how many got a 4xx, a 5xx, and whether /health answers.
- fuzz: schemathesis against the OpenAPI schema, ``--fuzz`` examples per operation, checking no 5xx.
- page: in Chromium (Playwright), ``--page`` IAM-OnDB `testset_t` lines of 5 words drawn with the mouse on the
  live page: time from the last pen-up to the text shown (what the page measures), p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@contextmanager
def server(max_batch: int, threads: int, backend: str = "torch") -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "scriba.cli", "serve", "--port", str(port), "--max-batch", str(max_batch),
               "--backend", backend]  # fmt: skip
    process = subprocess.Popen(command + (["--threads", str(threads)] if threads else []))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def ink_words(count: int) -> list[tuple[list[np.ndarray], str]]:
    from scriba.data.sources import SourceConfig, read_source

    if not (SHARED / "iam_ondb").is_dir():
        zigzag = [np.array([[0, 0], [4, 18], [9, 2], [14, 19], [19, 1]], np.float32)]
        return [(zigzag, "")]
    records = read_source(SourceConfig(str(SHARED / "iam_ondb"), kind="iam_ondb_words", split="testset_t"))
    return [(r.ink or [], r.text or "") for r in records[:count]]


def word_pngs(words: list[tuple[list[np.ndarray], str]]) -> list[bytes]:
    from scriba.data.ink import render_ink
    from scriba.recognizer import Recognizer

    if words[0][1] == "":
        return [p.read_bytes() for p in sorted((REPO / "examples").glob("*.png"))]
    style = Recognizer.load("english", lm=None).model_file.ink_style
    return [cv2.imencode(".png", render_ink(ink, style))[1].tobytes() for ink, _ in words]


def http_request(path: str, body: bytes, content_type: str, host: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def multipart(name: str, data: bytes, boundary: str = "scribabench") -> tuple[bytes, str]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request on a kept-alive connection and read its response; the status code."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1]) if status_line else 0


async def load(url: str, requests: list[bytes], clients: int, seconds: float) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < stop:
            start = time.perf_counter()
            status = await exchange(reader, writer, rng.choice(requests))
            latencies.append(time.perf_counter() - start)
            errors += status != 200
        writer.close()

    began = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    took = time.monotonic() - began
    ms = np.percentile(np.array(latencies) * 1e3, [50, 95, 99])
    return {"requests/s": len(latencies) / took, "p50": ms[0], "p95": ms[1], "p99": ms[2], "errors": errors,
            "n": len(latencies)}  # fmt: skip


def bench_load(args: argparse.Namespace) -> None:
    words = ink_words(400)
    pngs = word_pngs(words)
    print(f"\n## load: {args.clients} clients x {args.seconds:g} s, {len(words)} ink words / {len(pngs)} word images")
    print("| endpoint | backend | max batch | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for backend, max_batch in itertools.product(args.backend, args.max_batch):
        with server(max_batch, args.threads, backend) as url:
            host = url.removeprefix("http://")
            ink = [http_request("/v1/read/ink", json.dumps({"strokes": [s.tolist() for s in i]}).encode(),
                                "application/json", host) for i, _ in words]  # fmt: skip
            images = [http_request("/v1/read", *multipart(f"w{i}.png", p), host) for i, p in enumerate(pngs)]
            for name, requests in (("/v1/read/ink (english_pen)", ink), ("/v1/read (english)", images)):
                asyncio.run(load(url, requests, args.clients, 2.0))  # warm-up
                r = asyncio.run(load(url, requests, args.clients, args.seconds))
                print(f"| {name} | {backend} | {max_batch} | {r['requests/s']:.0f} | {r['p50']:.0f} | {r['p95']:.0f} | "
                      f"{r['p99']:.0f} | {r['errors']} of {r['n']} |", flush=True)  # fmt: skip


def malformed_requests(host: str) -> list[tuple[str, bytes]]:
    png = cv2.imencode(".png", np.full((40, 120), 255, np.uint8))[1].tobytes()
    form_type = multipart("", b"")[1]
    nan = b'{"strokes": [[[NaN, 1], [2, 3]]]}'
    huge_points = json.dumps({"strokes": [[[i % 997, i % 13] for i in range(1_000_000)]]}).encode()
    cases = [
        ("garbage bytes as an image", http_request("/v1/read", *multipart("x.png", os.urandom(2000)), host)),
        ("truncated multipart", http_request("/v1/read", multipart("x.png", png)[0][:150], form_type, host)),
        ("truncated PNG", http_request("/v1/read", *multipart("x.png", png[: len(png) // 2]), host)),
        ("JSON to /v1/read", http_request("/v1/read", b'{"file": 1}', "application/json", host)),
        ("image to /v1/read/ink", http_request("/v1/read/ink", png, "image/png", host)),
        ("form to /v1/read/ink", http_request("/v1/read/ink", b"a=1", "application/x-www-form-urlencoded", host)),
        ("NaN coordinates", http_request("/v1/read/ink", nan, "application/json", host)),
        ("not JSON", http_request("/v1/read/ink", os.urandom(300), "application/json", host)),
        ("10^6 points", http_request("/v1/read/ink", huge_points, "application/json", host)),
        ("50 MB body", http_request("/v1/read", *multipart("big.png", b"\0" * 50 * 2**20), host)),
        ("unknown model", http_request("/v1/read/ink?model=x", b'{"strokes": [[[0, 1]]]}', "application/json", host)),
        ("empty strokes", http_request("/v1/read/ink", b'{"strokes": []}', "application/json", host)),
    ]  # fmt: skip
    return cases


async def send_malformed(url: str, cases: list[tuple[str, bytes]], count: int) -> dict[str, list[int]]:
    host, port = url.removeprefix("http://").split(":")
    statuses: dict[str, list[int]] = {name: [] for name, _ in cases}
    for i in range(count):
        name, request = cases[i % len(cases)]
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            statuses[name].append(await exchange(reader, writer, request))
        except (ConnectionError, asyncio.IncompleteReadError):
            statuses[name].append(0)  # the server closed the connection without an answer
        writer.close()
    return statuses


def bench_malformed(args: argparse.Namespace) -> None:
    with server(32, args.threads) as url:
        cases = malformed_requests(url.removeprefix("http://"))
        began = time.monotonic()
        statuses = asyncio.run(send_malformed(url, cases, args.malformed))
        took = time.monotonic() - began
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            alive = response.status == 200
    every = [s for codes in statuses.values() for s in codes]
    print(f"\n## malformed: {len(every)} requests in {took:.0f} s")
    print("| request | sent | statuses |")
    print("| --- | --- | --- |")
    for name, codes in statuses.items():
        print(f"| {name} | {len(codes)} | {', '.join(f'{c}x{codes.count(c)}' for c in sorted(set(codes)))} |")
    fours, fives = sum(400 <= s < 500 for s in every), sum(s >= 500 for s in every)
    health = "ok" if alive else "NO ANSWER"
    print(f"4xx: {fours}, 5xx: {fives}, other: {len(every) - fours - fives}; /health afterwards: {health}")


def bench_fuzz(args: argparse.Namespace) -> None:
    with server(32, args.threads) as url:
        command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
                   "--checks", "not_a_server_error", "--max-examples", str(args.fuzz), "--request-timeout", "30",
                   "--generation-deterministic"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=tempfile.gettempdir())  # its cache there
        print(f"\n## fuzz: schemathesis, {args.fuzz} examples per operation, check: no 5xx (exit {done.returncode})")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        print("\n".join(lines[-12:]))


def bench_page(args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    from scriba.data.sources import SourceConfig, read_source
    from scriba.metrics import cer

    if not (SHARED / "iam_ondb").is_dir():
        print("\n## page: skipped (needs ../shared/data/iam_ondb)")
        return
    records = read_source(SourceConfig(str(SHARED / "iam_ondb"), kind="iam_ondb_lines", split="testset_t"))
    lines = [r for r in records if r.text and len(r.text.split()) == 5][: args.page]
    timings, shown = [], []
    with server(32, args.threads) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(url)
        page.wait_for_selector("#ink-model option", state="attached")
        box = page.locator("#pad").bounding_box()
        assert box is not None
        for record in lines:
            page.click("#clear")
            ink = record.ink or []
            points = np.concatenate(ink)
            low, size = points.min(axis=0), np.maximum(points.max(axis=0) - points.min(axis=0), 1)
            scale = min((box["width"] - 40) / size[0], (box["height"] - 40) / size[1])
            before = page.evaluate("window.scribaTimings.length")
            for stroke in ink:
                xy = ((stroke - low) * scale + 20).tolist()
                page.mouse.move(box["x"] + xy[0][0], box["y"] + xy[0][1])
                page.mouse.down()
                for x, y in xy[1:]:
                    page.mouse.move(box["x"] + x, box["y"] + y)
                page.mouse.up()
            page.wait_for_function(f"window.scribaTimings.length > {before}")
            time.sleep(0.4)  # a read of an earlier pen-up may still land; the last one is the final pen-up's
            timings.append(page.evaluate("window.scribaTimings.at(-1)"))
            shown.append(page.locator("#reading").inner_text())
        browser.close()
        api = []  # the same lines' original ink (not redrawn by a mouse) through the API
        for record in lines:
            body = json.dumps({"strokes": [s.tolist() for s in record.ink or []]}).encode()
            request = urllib.request.Request(f"{url}/v1/read/ink", body, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                api.append(json.loads(response.read())["results"][0]["text"])
    ms = np.percentile(timings, [50, 95])
    print(f"\n## page: {len(lines)} IAM-OnDB testset_t lines of 5 words drawn with the mouse in Chromium")
    truths = [r.text or "" for r in lines]
    print(
        f"last pen-up to text shown: p50 {ms[0]:.0f} ms, p95 {ms[1]:.0f} ms, max {max(timings):.0f} ms "
        "(debounce included)"
    )
    for name, texts in (("drawn on the page", shown), ("original ink through the API", api)):
        right = sum(t == truth for t, truth in zip(texts, truths, strict=True))
        print(f"{name}: CER {cer(texts, truths):.2%}, {right} of {len(lines)} lines exactly right")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-batch", type=int, nargs="+", default=[32, 1])
    parser.add_argument("--threads", type=int, default=0, help="server threads (0: its default)")
    parser.add_argument("--backend", nargs="+", default=["torch"], choices=["torch", "onnx"], help="network runtimes")
    parser.add_argument("--malformed", type=int, default=1000)
    parser.add_argument("--fuzz", type=int, default=30)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--skip", nargs="*", default=[], choices=["load", "malformed", "fuzz", "page"])
    args = parser.parse_args()
    for name, bench in (("load", bench_load), ("malformed", bench_malformed), ("fuzz", bench_fuzz),
                        ("page", bench_page)):  # fmt: skip
        if name not in args.skip:
            bench(args)


if __name__ == "__main__":
    main()
