"""HTTP serving (the `serve` extra): POST /predict, GET /health, GET /metadata on Starlette."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .runtime.model import Model

MAX_BODY = 5_000_000
MAX_TEXTS = 10_000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(model: Model, max_body: int = MAX_BODY) -> Starlette:
    """An ASGI app serving one loaded model."""

    async def predict(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            return _error(413, f"request body over {max_body} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body:
                return _error(413, f"request body over {max_body} bytes")
        try:
            data: Any = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "body must be JSON")
        if not isinstance(data, dict) or ("texts" in data) == ("article" in data):
            return _error(400, 'send {"texts": [...]} or {"article": "..."}')
        if "article" in data:
            if not isinstance(data["article"], str):
                return _error(422, "'article' must be a string")
            return JSONResponse({"sentences": model.predict_article(data["article"])})
        texts = data["texts"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(422, "'texts' must be a list of strings")
        if len(texts) > MAX_TEXTS:
            return _error(413, f"at most {MAX_TEXTS} texts per request")
        rows = model.score_rows([{"text": t} for t in texts])
        return JSONResponse({"labels": [r["labels"] for r in rows],
                             "scores": [r["scores"] for r in rows]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse({"labels": model.labels, **{k: model.metadata.get(k) for k in (
            "name", "version", "thresholds", "metrics", "dataset", "stancekit_version")}})

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                             Route("/health", health), Route("/metadata", metadata)])
