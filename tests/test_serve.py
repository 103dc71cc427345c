"""The HTTP service over real HTTP on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def server(trained: Path):
    port = _free_port()
    exe = Path(sys.executable).parent / "stancekit"
    proc = subprocess.Popen([str(exe), "serve", str(trained), "--port", str(port)],
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if _call(base + "/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


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
