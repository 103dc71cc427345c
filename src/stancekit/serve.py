"""The HTTP service (the `serve` extra), on FastAPI: a page at `/`, `POST /predict`,
`GET /health`, `GET /metadata`, and the API described at `/docs` and `/openapi.json`.

A request body is read by `_LimitedRoute` before FastAPI sees it: at most `max_body`
bytes (413 from the declared length, before any body is read), parsed by
`inputs.parse_json`, so deep nesting, integers of thousands of digits and lone
surrogates are JSON 400s, not 500s. Scoring runs in worker threads, at most `workers`
at a time, so `/health` answers while a large article is scored. Every error, 404 and
405 included, is JSON `{"error": ...}`.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Annotated, Any, Callable, Coroutine, Literal

from fastapi import Body, FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from . import __version__
from .errors import DataError, StancekitError
from .inputs import parse_json
from .read import Article, html_document, looks_like_html
from .runtime.model import Model
from .views import service_page

MAX_BODY = 5_000_000
MAX_TEXTS = 10_000
log = logging.getLogger("stancekit.serve")


# -- schemas ------------------------------------------------------------------------------

class ArticleIn(BaseModel):
    """One article of a batch: an id, its text (the headline as its first line, or
    `title`), plain text or an HTML page."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    text: StrictStr
    title: StrictStr | None = None


class PredictRequest(BaseModel):
    """Exactly one of `texts` (sentences, scored alone), `article` (one raw article, text
    or HTML) or `articles` (many); `explain` adds the n-grams behind each label."""

    model_config = ConfigDict(extra="forbid")
    texts: list[StrictStr] | None = Field(None, max_length=MAX_TEXTS)
    article: StrictStr | None = None
    articles: list[ArticleIn] | None = Field(None, max_length=MAX_TEXTS)
    explain: StrictBool = False

    @model_validator(mode="after")
    def _one_input(self) -> "PredictRequest":
        if sum(x is not None for x in (self.texts, self.article, self.articles)) != 1:
            raise ValueError("send exactly one of texts, article, articles")
        return self


EXAMPLES: dict[str, Any] = {
    "texts": {"summary": "sentences", "value": {"texts": [
        'Downing Street dismissed the report as "complete rubbish".', "Turnout was 61%."]}},
    "article": {"summary": "one article", "value": {"article": "Council tax to rise by 4%\n\n"
                "The council said the rise was unavoidable. Critics accused it of waste."}},
    "articles": {"summary": "many articles", "value": {"articles": [
        {"id": "a1", "title": "Strike called off", "text": "Union leaders denied any deal."}],
        "explain": True}},
}


class SentenceOut(BaseModel):
    article_id: str | None
    index: int
    start: int
    end: int
    text: str
    labels: list[str]
    scores: dict[str, float]
    explanation: dict[str, list[tuple[str, float]]] | None = None


class TextsOut(BaseModel):
    """For `texts`: per text, its labels and scores, in order."""

    labels: list[list[str]]
    scores: list[dict[str, float]]
    explanation: list[dict[str, list[tuple[str, float]]]] | None = None


class ArticleOut(BaseModel):
    """For `article`: its sentences, and the text their offsets point into (the extracted
    text of an HTML page)."""

    sentences: list[SentenceOut]
    text: str


class ArticlesOut(BaseModel):
    """For `articles`: every sentence of every article, in order."""

    sentences: list[SentenceOut]


class ErrorOut(BaseModel):
    error: str


class MetadataOut(BaseModel):
    name: str | None
    version: str | None
    labels: list[str]
    thresholds: dict[str, float] | None
    metrics: dict[str, Any] | None
    dataset: dict[str, Any] | None
    stancekit_version: str | None
    service_version: str


class HealthOut(BaseModel):
    status: Literal["ok"]


# -- the body, read with limits ----------------------------------------------------------

class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _limited_route(max_body: int) -> type[APIRoute]:
    class _LimitedRoute(APIRoute):
        """Reads and checks a JSON body before FastAPI does (see the module docstring)."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def read_first(request: Request) -> Response:
                if request.method == "POST":
                    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                    if kind != "application/json" and not kind.endswith("+json"):
                        return _error(415, "send JSON with Content-Type: application/json")
                    try:
                        body = await _read_body(request, max_body)
                        data = parse_json(body.decode("utf-8"), "request body")
                    except _BodyError as exc:
                        return _error(exc.status, str(exc))
                    except UnicodeDecodeError:
                        return _error(400, "the body is not UTF-8")
                    except DataError as exc:
                        return _error(400, exc.detail)
                    except ClientDisconnect:
                        return Response(status_code=400)  # nobody is listening
                    if not isinstance(data, dict) or not {"texts", "article", "articles"} & set(data):
                        return _error(400, 'send {"texts": [...]}, {"article": "..."} or '
                                           '{"articles": [{"id", "text"}, ...]}')
                    request._body = body  # FastAPI reads the checked body from here
                return await handler(request)

            return read_first

    return _LimitedRoute


async def _read_body(request: Request, max_body: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise _BodyError(413, f"request body over {max_body} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise _BodyError(413, f"request body over {max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# -- the app ------------------------------------------------------------------------------

def create_app(model: Model, max_body: int = MAX_BODY, workers: int | None = None) -> FastAPI:
    """An ASGI app serving one loaded model."""
    gate = threading.BoundedSemaphore(workers or os.cpu_count() or 1)
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (400, 413, 415, 422)}
    # FastAPIOffline: FastAPI with Swagger UI and ReDoc served by the app itself, so /docs
    # works where the service has no internet (FastAPI's own pages load them from a CDN)
    app = FastAPIOffline(title=f"stancekit: {model.metadata.get('name') or 'model'}",
                  version=__version__,
                  description="Labels the sentences of news articles: " + ", ".join(model.labels)
                  + ". Scores are in [0, 1]; a label is given when its score reaches the "
                    "model's threshold for it (see /metadata).")
    app.router.route_class = _limited_route(max_body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return _error(422, f"'{where}': {msg}" if where else msg)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
        return _error(500, "internal error (see the service log)")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(service_page(model))

    @app.post("/predict", responses=errors, response_model=TextsOut | ArticleOut | ArticlesOut,
              summary="Label sentences, an article, or many articles",
              description="Send exactly one of `texts` (sentences, each scored alone), `article` "
                          "(a raw article, plain text with the headline first or an HTML page) "
                          "or `articles` (many, each with an `id`). Articles are cleaned and "
                          "split into sentences as the model's training data was, and each "
                          f"sentence is scored with its context. At most {max_body} bytes and "
                          f"{MAX_TEXTS} texts or articles a request.")
    def predict(body: Annotated[PredictRequest, Body(openapi_examples=EXAMPLES)]) -> JSONResponse:
        # a plain function: FastAPI runs it in a worker thread, so /health stays responsive
        with gate:
            try:
                return JSONResponse(_predict(model, body))
            except StancekitError as exc:  # e.g. an HTML page with no article text in it
                return _error(422, str(exc))

    @app.get("/health", response_model=HealthOut)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata", response_model=MetadataOut)
    async def metadata() -> dict[str, Any]:
        return {"labels": model.labels, "service_version": __version__,
                **{k: model.metadata.get(k) for k in (
                    "name", "version", "thresholds", "metrics", "dataset", "stancekit_version")}}

    return app


def _document(text: str, ident: str | None, title: str | None = None) -> Article:
    """An article from a request: HTML through trafilatura, plain text as it is."""
    if looks_like_html(text[:4096]):
        return html_document(text, ident or "article", "request")
    return Article(ident or "", f"{title.strip()}\n\n{text}" if title and title.strip() else text,
                   "request")


def _predict(model: Model, body: PredictRequest) -> dict[str, Any]:
    if body.texts is not None:
        rows = model.score_rows([{"text": t} for t in body.texts], explain=body.explain)
        out: dict[str, Any] = {"labels": [r["labels"] for r in rows],
                               "scores": [r["scores"] for r in rows]}
        if body.explain:
            out["explanation"] = [r["explanation"] for r in rows]
        return out
    if body.article is not None:
        art = _document(body.article, None)
        return {"sentences": model.predict_article(art.text, None, body.explain), "text": art.text}
    from .streaming import predict_articles
    arts = [_document(a.text, a.id, a.title) for a in body.articles or []]
    return {"sentences": list(predict_articles(model, arts, body.explain))}

