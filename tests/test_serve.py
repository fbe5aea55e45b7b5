"""The REST API (`scriba serve`): readings as the Python API gives them, batching, and a 4xx for every bad input."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extras are not installed")
from fastapi.testclient import TestClient

from scriba.errors import ImageError
from scriba.recognizer import Recognizer
from scriba.serve import ServeSettings, create_app
from scriba.serve.batching import Batcher, BusyError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
ZIGZAG = {"strokes": [[[0, 0], [4, 18], [9, 2], [14, 19], [19, 1]], [[25, 5], [25, 19]]]}


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(ServeSettings(max_body_bytes=2**20, max_points=5_000, max_pixels=2_000_000))) as c:
        yield c


def test_health_and_models(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "models": ["english", "english_pen"]}
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert models["english"]["input"] == "image" and models["english"]["default"]
    assert models["english_pen"]["input"] == "ink" and models["english_pen"]["loaded"]
    assert "a" in models["names"]["charset"].lower() and not models["names"]["loaded"]
    assert client.get("/").text.startswith("<!doctype html>")
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/v1/read", "/v1/read/ink", "/health"}


def test_images_read_as_the_python_api_reads_them(client: TestClient) -> None:
    names = ["hello.png", "line.png", "London.png"]
    files = [("file", (n, (EXAMPLES / n).read_bytes(), "image/png")) for n in names]
    results = client.post("/v1/read", files=files).json()["results"]
    expected = Recognizer.load("english", alternatives=3).read_images([EXAMPLES / n for n in names])
    assert [r["text"] for r in results] == [e.text for e in expected] == ["hello", "Read this line, please.", "London"]
    for result, reading in zip(results, expected, strict=True):
        assert result["confidence"] == pytest.approx(reading.confidence, abs=1e-4)
        assert "".join(c["char"] for c in result["chars"]) == result["text"]
        assert [a["text"] for a in result["alternatives"]] == [a.text for a in reading.alternatives or []]
    assert [r["file"] for r in results] == names


def test_read_options(client: TestClient) -> None:
    hello = [("file", ("hello.png", (EXAMPLES / "hello.png").read_bytes(), "image/png"))]
    one = client.post("/v1/read?alternatives=1", files=hello).json()["results"][0]
    assert one["text"] == "hello" and len(one["alternatives"]) == 1
    greedy = client.post("/v1/read?lm=none", files=hello).json()["results"][0]
    assert greedy["text"] == "hello" and greedy["alternatives"] == []
    names = client.post("/v1/read?model=names", files=hello).json()["results"][0]
    assert names["text"] == Recognizer.load("names").read_image(EXAMPLES / "hello.png").text


def test_ink_reads_as_the_python_api_reads_it(client: TestClient) -> None:
    hello = json.loads((EXAMPLES / "ink" / "hello.json").read_text(encoding="utf-8"))  # canvas JSON, as posted
    result = client.post("/v1/read/ink", json=hello).json()["results"][0]
    ink = [np.array(s, np.float32) for s in hello["strokes"]]
    assert result["text"] == Recognizer.load("english_pen", alternatives=3).read_inks([ink])[0].text == "hello"
    with_time = {"strokes": [[[x, y, 10 * i, 0.5] for i, (x, y) in enumerate(s)] for s in hello["strokes"]]}
    assert client.post("/v1/read/ink", json=with_time).json()["results"][0]["text"] == "hello"
    drawn = client.post("/v1/read/ink?model=english", json=hello).json()["results"][0]
    assert drawn["text"] == Recognizer.load("english", alternatives=3).read_inks([ink])[0].text == "hello"
    assert drawn["confidence"] != result["confidence"]  # another model read it


def test_a_real_pen_word_is_read(client: TestClient, shared_iam_ondb: Path) -> None:
    from scriba.data.inkio import ink_to_json
    from scriba.data.sources import SourceConfig, read_source

    records = read_source(SourceConfig(str(shared_iam_ondb), kind="iam_ondb_words", split="testset_t"))
    words = [r for r in records if r.text and len(r.text) >= 5][:20]
    texts = [client.post("/v1/read/ink", json=ink_to_json(r.ink or [])).json()["results"][0]["text"] for r in words]
    assert texts == [r.text for r in Recognizer.load("english_pen").read_inks([r.ink or [] for r in words])]
    assert sum(t == r.text for t, r in zip(texts, words, strict=True)) >= 10  # 11 of these 20 long words


def png(width: int, height: int) -> bytes:
    image = np.full((height, width), 255, np.uint8)
    cv2.line(image, (2, height // 2), (width - 3, height // 3), 0, 2)
    return cv2.imencode(".png", image)[1].tobytes()


BAD_REQUESTS = [
    ("garbage bytes as an image", "post", "/v1/read",
     {"files": [("file", ("x.png", b"\x89PNG garbage", "image/png"))]}, 415),
    ("text file as an image", "post", "/v1/read", {"files": [("file", ("a.txt", b"hello", "text/plain"))]}, 415),
    ("truncated PNG", "post", "/v1/read", {"files": [("file", ("t.png", png(300, 60)[:200], "image/png"))]}, 400),
    ("empty file", "post", "/v1/read", {"files": [("file", ("e.png", b"", "image/png"))]}, 400),
    ("too many pixels", "post", "/v1/read", {"files": [("file", ("big.png", png(2000, 1001), "image/png"))]}, 413),
    ("no file field", "post", "/v1/read", {"files": [("other", ("a.png", png(50, 20), "image/png"))]}, 422),
    ("JSON sent to /v1/read", "post", "/v1/read", {"json": {"file": "x"}}, 415),
    ("truncated multipart", "post", "/v1/read",
     {"content": b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x89PN",
      "headers": {"content-type": "multipart/form-data; boundary=xyz"}}, 400),
    ("body over the limit", "post", "/v1/read",
     {"files": [("file", ("big.png", b"\0" * (2**20 + 10), "image/png"))]}, 413),
    ("unknown model", "post", "/v1/read?model=nope", {"files": [("file", ("a.png", png(50, 20), "image/png"))]}, 422),
    ("image to a pen model", "post", "/v1/read?model=english_pen",
     {"files": [("file", ("a.png", png(80, 20), "image/png"))]}, 422),
    ("alternatives out of range", "post", "/v1/read/ink?alternatives=0", {"json": ZIGZAG}, 422),
    ("unknown lm", "post", "/v1/read/ink?lm=klingon", {"json": ZIGZAG}, 422),
    ("NaN coordinates", "post", "/v1/read/ink",
     {"content": b'{"strokes": [[[NaN, 0], [1, 2]]]}', "headers": {"content-type": "application/json"}}, 422),
    ("not JSON", "post", "/v1/read/ink",
     {"content": b"{strokes", "headers": {"content-type": "application/json"}}, 400),
    ("no strokes", "post", "/v1/read/ink", {"json": {"strokes": []}}, 422),
    ("strokes not lists", "post", "/v1/read/ink", {"json": {"strokes": [1, 2]}}, 422),
    ("points not numbers", "post", "/v1/read/ink", {"json": {"strokes": [[["a", "b"]]]}}, 422),
    ("too many points", "post", "/v1/read/ink", {"json": {"strokes": [[[i, i % 7] for i in range(5001)]]}}, 413),
    ("form sent to /v1/read/ink", "post", "/v1/read/ink", {"data": {"strokes": "1"}}, 415),
    ("invalid Content-Length", "post", "/v1/read/ink",
     {"content": b"{}", "headers": {"content-type": "application/json", "content-length": "x"}}, 400),
    ("unknown route", "get", "/v2/read", {}, 404),
    ("wrong method", "get", "/v1/read", {}, 405),
]  # fmt: skip


@pytest.mark.parametrize(("what", "method", "url", "kwargs", "status"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_a_4xx_with_a_reason(client: TestClient, what, method, url, kwargs, status) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str) and response.json()["error"]
    assert client.get("/health").status_code == 200


def test_a_body_without_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = client.post("/v1/read/ink", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over" in response.json()["error"]


def test_batcher_reads_queued_jobs_together_and_keeps_errors_to_their_item() -> None:
    calls: list[tuple[str, list[int]]] = []
    gate = threading.Event()

    def runner(key, items):  # type: ignore[no-untyped-def]
        gate.wait(5)
        calls.append((key, items))
        return [ImageError(f"bad {i}") if i < 0 else i * 10 for i in items]

    batcher = Batcher(runner, max_items=8, wait_s=0.05)
    first = batcher.submit("a", 1)  # taken alone while the runner waits at the gate
    time.sleep(0.1)
    futures = [batcher.submit("a", 2), batcher.submit("b", 3), batcher.submit("a", -1), batcher.submit("a", 4)]
    gate.set()
    assert first.result(5) == 10
    assert [f.result(5) for f in (futures[0], futures[1], futures[3])] == [20, 30, 40]
    with pytest.raises(ImageError, match="bad -1"):
        futures[2].result(5)
    assert calls == [("a", [1]), ("a", [2, -1, 4]), ("b", [3])]
    batcher.close()


def test_batcher_refuses_jobs_beyond_its_queue() -> None:
    gate = threading.Event()
    batcher = Batcher(lambda key, items: [gate.wait(5) for _ in items], max_items=1, wait_s=0, max_queued=2)
    futures = [batcher.submit("k", 0)]
    time.sleep(0.05)  # the first is running; two more fill the queue
    futures += [batcher.submit("k", 1), batcher.submit("k", 2)]
    with pytest.raises(BusyError, match="busy"):
        batcher.submit("k", 3)
    gate.set()
    assert [f.result(5) for f in futures] == [True, True, True]
    batcher.close()


def test_concurrent_requests_are_read_in_batches() -> None:
    sizes: list[int] = []
    app = create_app(ServeSettings(batch_wait_s=0.05))
    with TestClient(app) as client:
        import scriba.serve.app as serve_app

        original = serve_app.read_group
        serve_app.read_group = lambda readers, key, items: sizes.append(len(items)) or original(readers, key, items)
        try:
            hello = (EXAMPLES / "hello.png").read_bytes()
            results: list[str] = []

            def post() -> None:
                response = client.post("/v1/read", files=[("file", ("h.png", io.BytesIO(hello), "image/png"))])
                results.append(response.json()["results"][0]["text"])

            threads = [threading.Thread(target=post) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            serve_app.read_group = original
    assert results == ["hello"] * 6
    assert sum(sizes) == 6 and max(sizes) > 1


def test_serve_command_refuses_an_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    from scriba.cli import main

    assert main(["serve", "--model", "no_such_model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scriba: error:") and "no_such_model" in err and len(err.splitlines()) == 1


def test_full_size_abuse_with_the_default_limits() -> None:
    with TestClient(create_app(ServeSettings())) as client:
        huge = client.post("/v1/read", files=[("file", ("big.png", b"\0" * 50 * 2**20, "image/png"))])
        assert huge.status_code == 413 and "over" in huge.json()["error"]
        points = json.dumps({"strokes": [[[i % 997, i % 13] for i in range(1_000_000)]]}).encode()
        assert len(points) < ServeSettings().max_body_bytes  # under the body limit: refused for its points
        many = client.post("/v1/read/ink", content=points, headers={"content-type": "application/json"})
        assert many.status_code == 413 and "1000000 points" in many.json()["error"]
        assert client.get("/health").json()["status"] == "ok"
