"""The HTTP service over real HTTP on loopback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import serving

pytest.importorskip("uvicorn", reason="the serve extra is not installed")


def _call(url: str, body: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve") / "stderr.log"


@pytest.fixture(scope="module")
def server(trained: Path, server_log: Path) -> Iterator[str]:
    with server_log.open("wb") as log, serving(trained, log) as base:
        yield base


def test_serve_endpoints(server: str) -> None:
    assert _call(server + "/health") == (200, {"status": "ok"})
    status, meta = _call(server + "/metadata")
    assert status == 200 and meta["labels"] == ["accusation", "denial", "quote", "statistic"]
    status, out = _call(server + "/predict", json.dumps({"texts": ["Sales fell 5%.", ""]}).encode())
    assert status == 200 and len(out["labels"]) == 2 and set(out["scores"][0]) == set(meta["labels"])
    article = "Headline here\n\nThe mayor denied it. \"No,\" she said."
    status, out = _call(server + "/predict", json.dumps({"article": article}).encode())
    assert status == 200 and [s["text"] for s in out["sentences"]][0] == "Headline here"


@pytest.mark.parametrize("body, code", [
    (b"not json", 400), (b'{"texts": "one"}', 422), (b'{"other": 1}', 400),
    (b'{"texts": [1, 2]}', 422),
])
def test_serve_rejects_bad_requests(server: str, body: bytes, code: int) -> None:
    status, out = _call(server + "/predict", body)
    assert status == code and "error" in out


def test_serve_rejects_oversized_body(server: str) -> None:
    import http.client
    host, port = server.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", "/predict")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "6000000")
    conn.endheaders()  # the server answers from the declared size, before any body
    resp = conn.getresponse()
    assert resp.status == 413 and "error" in json.loads(resp.read())
    conn.close()


def _raw(server: str, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, str, bytes]:
    import http.client
    host, port = server.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": content_type} if body else {})
    resp = conn.getresponse()
    out = (resp.status, resp.getheader("content-type") or "", resp.read())
    conn.close()
    return out


@pytest.mark.parametrize("method, path, body, content_type, code, message", [
    ("GET", "/nowhere", None, "", 404, "Not Found"),
    ("GET", "/predict", None, "", 405, "Method Not Allowed"),
    ("POST", "/health", b"{}", "application/json", 405, "Method Not Allowed"),
    ("POST", "/predict", b'{"texts": ["a"]}', "text/plain", 415, "Content-Type: application/json"),
    ("POST", "/predict", b'{"texts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "application/json", 400, "nested too deeply"),
    ("POST", "/predict", b'{"texts": [' + b"9" * 5000 + b"]}", "application/json", 400, "4300 digits"),
    ("POST", "/predict", b'{"texts": ["\\ud800"]}', "application/json", 400, "lone surrogate"),
    ("POST", "/predict", b'{"texts": ["a"], "article": "b"}', "application/json", 422, "exactly one"),
    ("POST", "/predict", b'{"articles": [{"id": 1, "text": "x"}]}', "application/json", 422,
     "'articles.0.id'"),
    ("POST", "/predict", b'{"texts": ["a"], "extra": 1}', "application/json", 422, "'extra'"),
    ("POST", "/predict", b"\xff\xfe", "application/json", 400, "not UTF-8"),
])
def test_every_error_is_json(server: str, method: str, path: str, body: bytes | None,
                             content_type: str, code: int, message: str) -> None:
    status, kind, raw = _raw(server, method, path, body, content_type)
    assert status == code and kind.startswith("application/json"), (status, kind, raw[:200])
    assert message in json.loads(raw)["error"]


def test_articles_metadata_and_schema(server: str, trained: Path) -> None:
    import stancekit
    model = stancekit.load(trained)
    arts = [{"id": "a", "text": "Headline\n\nThe mayor denied it. Sales rose 5%."},
            {"id": "b", "title": "Strike", "text": "Union leaders said no deal was made."}]
    status, out = _call(server + "/predict", json.dumps({"articles": arts, "explain": True}).encode())
    assert status == 200
    assert [r["article_id"] for r in out["sentences"]] == ["a", "a", "a", "b", "b"]
    expected = model.predict_article(arts[0]["text"], "a", True) + \
        model.predict_article("Strike\n\n" + arts[1]["text"], "b", True)
    assert out["sentences"] == json.loads(json.dumps(expected))
    status, meta = _call(server + "/metadata")
    assert meta["name"] == "default" and meta["version"] == trained.name
    status, one = _call(server + "/predict", json.dumps({"texts": ["", "He denied it."]}).encode())
    assert one["labels"][0] == [] and set(one["scores"][0].values()) == {0.0}  # empty = nothing
    status, spec = _call(server + "/openapi.json")
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["PredictRequest"]["properties"]) == {"texts", "article", "articles", "explain"}
    assert {"413", "415", "422"} <= set(spec["paths"]["/predict"]["post"]["responses"])
    assert set(body["examples"]) == {"texts", "article", "articles"}
    for path in ("/health", "/metadata"):
        assert "responses" in spec["paths"][path]["get"]
    status, kind, page = _raw(server, "GET", "/docs")
    assert status == 200 and b"swagger-ui" in page.lower() and b"cdn." not in page


def test_health_answers_while_a_large_article_is_scored(server: str) -> None:
    """A 4 MB article takes a while to score; /health is answered during it."""
    import threading
    article = "Headline\n\n" + "The minister denied the claims made by the council. " * 80_000
    done: dict[str, float] = {}

    def post() -> None:
        status, kind, _ = _raw(server, "POST", "/predict", json.dumps({"article": article}).encode())
        done["status"] = status
        done["at"] = time.monotonic()

    worker = threading.Thread(target=post)
    worker.start()
    time.sleep(0.3)
    answered = []
    while worker.is_alive() and len(answered) < 20:
        assert _call(server + "/health") == (200, {"status": "ok"})
        answered.append(time.monotonic())
    worker.join()
    assert done["status"] == 200
    assert answered and answered[0] < done["at"]  # health answered before scoring ended


def test_client_disconnects_leave_no_traceback(server: str, server_log: Path) -> None:
    import socket as sk
    host, port = server.rsplit("/", 1)[-1].split(":")
    for _ in range(3):
        s = sk.create_connection((host, int(port)))
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{\"texts\": [\"half")
        s.close()
    time.sleep(0.5)
    assert _call(server + "/health")[0] == 200
    assert "Traceback" not in server_log.read_text(errors="replace")
