"""HTTP scoring service: ``propclf serve`` (FastAPI + uvicorn; ``pip install 'propclf[serve]'``).

The service scores batches of ``{"id", "text"}`` items with one model, loaded and verified once
per worker process when the worker starts, and answers with the same result records as the
Python API and the CLI (:meth:`propclf.result.Result.to_dict`), one per item, in input order.

Endpoints
---------
``POST /v1/score``
    Score a batch. An item that cannot be scored (no ``text``, ``text`` not a string, ``text``
    longer than ``max_text_chars``) gets an ``error`` instead of a score; the others are scored.
    A request that is not a well-formed batch is refused as a whole with a 4xx JSON error.
``GET /healthz``
    The process is up (liveness).
``GET /readyz``
    The model is loaded and verified (readiness); 503 otherwise.
``GET /v1/model``
    The model's manifest (the audit record written by ``propclf train``).

Errors are JSON objects ``{"error": {"code": ..., "message": ...}}``. Unexpected server errors
are logged with their traceback and answered with a generic 500 that reveals no internals.

Requests are scored one at a time per process. A body up to 64 KiB (about 10 ms of work) is scored
on the event loop itself: handing it to a thread and back costs about as much as scoring a batch
of 64 short posts. A larger body is scored in a worker thread, so that the loop keeps reading
bodies and answering health checks meanwhile. Use ``--workers`` to score on several cores.

``POST /v1/score`` is answered by a plain ASGI handler in front of FastAPI (which still routes
and documents everything else), and its result records are built from the model's vectorised
scores and bands without a :class:`~propclf.result.Result` object per item, field for field
what ``Result.to_dict()`` gives (see :func:`_records`): per request, the service's own work is
then small next to the model's, even for short texts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Literal, cast

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from propclf import __version__
from propclf.inputs import Item
from propclf.result import BANDS, LABELS, Result
from propclf.scoring import Scorer, coverage_warnings

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_TEXT_CHARS",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "ENV_MAX_BODY_BYTES",
    "ENV_MAX_ITEMS",
    "ENV_MAX_TEXT_CHARS",
    "ENV_MODEL",
    "REASONS_TOP",
    "NoDelayHTTPProtocol",
    "ServiceError",
    "app_from_env",
    "check_model",
    "create_app",
    "run",
]

log = logging.getLogger(__name__)

#: Most items in one request (more: 413).
DEFAULT_MAX_ITEMS = 1000
#: Largest request body in bytes (more: 413).
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
#: Longest text in characters (more: that item gets an error, the others are scored).
DEFAULT_MAX_TEXT_CHARS = 100_000
#: Seconds in-flight requests get to finish after SIGTERM/SIGINT before they are cancelled.
DEFAULT_SHUTDOWN_TIMEOUT = 20
#: Reasons (n-grams) attached to each result when a request asks for ``"reasons": true``.
REASONS_TOP = 5

#: Environment variables read by :func:`app_from_env` (how ``propclf serve`` configures workers).
ENV_MODEL = "PROPCLF_SERVE_MODEL"
ENV_MAX_ITEMS = "PROPCLF_SERVE_MAX_ITEMS"
ENV_MAX_BODY_BYTES = "PROPCLF_SERVE_MAX_BODY_BYTES"
ENV_MAX_TEXT_CHARS = "PROPCLF_SERVE_MAX_TEXT_CHARS"

_REQUEST_KEYS = frozenset({"items", "reasons", "threshold", "review_threshold"})
#: Bodies up to this size are scored on the event loop, larger ones in the scoring thread. 64 KiB
#: is about 700 short posts or a 60,000-character page: about 10 ms of scoring on a 2-core machine.
#: Requests queue for the one scoring lane either way, and while a thread scores, the GIL lets the
#: loop run only every few milliseconds; handing a small batch to a thread and back, on the other
#: hand, costs about as much as scoring 64 short posts (the thread often wakes on the other core,
#: away from the model's data in the cache).
_INLINE_MAX_BYTES = 64 * 1024


# -- errors ----------------------------------------------------------------------------------------
class ServiceError(Exception):
    """A request the service refuses: answered as ``{"error": {"code", "message"}}``.

    Parameters
    ----------
    status : int
        HTTP status code (4xx, or 503 while the model is not loaded).
    code : str
        Stable machine-readable error code, e.g. ``"invalid_json"``.
    message : str
        Human-readable explanation.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _fast_dumps() -> Callable[[Any], bytes] | None:
    try:
        import orjson
    except ImportError:  # part of the serve extra; without it the standard library encodes
        return None
    return orjson.dumps


_DUMPS = _fast_dumps()


def _dumps(content: Any) -> bytes:
    """Compact JSON: orjson when installed (UTF-8), else (or when orjson refuses, e.g. a lone
    surrogate in an id or text) the standard library with ASCII escapes, which encodes anything
    JSON can carry."""
    if _DUMPS is not None:
        try:
            return _DUMPS(content)
        except TypeError:  # orjson.JSONEncodeError: lone surrogates, integers over 64 bits
            pass
    return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode(
        "ascii"
    )


class _JSON(JSONResponse):
    """JSON responses encoded by :func:`_dumps`."""

    def render(self, content: Any) -> bytes:
        return _dumps(content)


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return _JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _error_body(code: str, message: str) -> bytes:
    return _dumps({"error": {"code": code, "message": message}})


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


class _InternalErrors:
    """ASGI middleware: log unexpected exceptions, answer a generic JSON 500 without internals."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for an error response; the connection is dropped
                raise
            await _error(500, "internal_error", "internal server error")(scope, receive, send)


class _Service(FastAPI):
    """The FastAPI application, with ``POST /v1/score`` answered by a plain ASGI handler.

    The scoring requests skip Starlette's middleware, routing, ``Request`` and ``Response``
    objects (about a tenth of a millisecond per request, as much as scoring 15 short posts):
    :func:`create_app` sets :attr:`score_asgi` to a handler that reads the body, scores it and
    sends the JSON answer itself, with the same checks, errors and logging as the routed
    endpoint, which stays declared for the OpenAPI document (and serves the path when it is
    reached through the router, e.g. under a ``root_path``). Everything else is FastAPI's.
    """

    score_asgi: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/v1/score"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and self.score_asgi is not None
        ):
            await self.score_asgi(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# -- OpenAPI description of the payloads (the request body is parsed by hand, see _parse) --------
class ModelInfo(BaseModel):
    """The model that produced a response."""

    id: str | None = Field(description="Model id, `propclf-` + the first 12 hex digits of sha256.")
    version: str | None = Field(description="propclf version the model was trained with.")
    sha256: str | None = Field(description="SHA-256 of the model artifact.")


class PassageOut(BaseModel):
    """A passage of a long text that reached the review band."""

    start: int
    end: int
    score: float
    band: Literal["flag", "review", "pass"]


class ReasonOut(BaseModel):
    """An n-gram behind a score and its contribution to the log-odds."""

    ngram: str
    weight: float
    spans: list[list[int]]


class ResultOut(BaseModel):
    """One result per item: a label, score and band, or an error."""

    id: str
    label: Literal["reporting", "propaganda"] | None
    score: float | None = Field(ge=0.0, le=1.0, description="P(propaganda).")
    band: Literal["flag", "review", "pass"] | None
    error: str | None
    warning: str | None = Field(
        default=None,
        description="Present when the score is unreliable: most of the text's words are unknown "
        "to the model (another language, or English mixed with one). Label, score and band are "
        "unchanged.",
    )
    passages: list[PassageOut] | None = None
    reasons: list[ReasonOut] | None = None
    model: str | None = None


class ScoreResponse(BaseModel):
    """The answer to ``POST /v1/score``: one result per item, in input order."""

    model: ModelInfo
    results: list[ResultOut]


class ErrorBody(BaseModel):
    """What went wrong."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error response."""

    error: ErrorBody


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class Ready(BaseModel):
    """Readiness: the model in use."""

    status: Literal["ready"]
    model: ModelInfo


def _request_schema(max_items: int, max_text_chars: int) -> dict[str, Any]:
    unit = {"type": "number", "minimum": 0.0, "maximum": 1.0}
    return {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_items,
                "description": f"1 to {max_items} items, scored in order.",
                "items": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {
                        "id": {
                            "type": ["string", "integer"],
                            "description": "Echoed in the result (default: the item's position).",
                        },
                        "text": {
                            "type": "string",
                            "maxLength": max_text_chars,
                            "description": "The text to score. An item without a string text or "
                            f"with more than {max_text_chars} characters gets an error in its "
                            "result; the other items are still scored.",
                        },
                    },
                },
            },
            "reasons": {
                "type": "boolean",
                "default": False,
                "description": f"Attach the top {REASONS_TOP} n-grams behind each score.",
            },
            "threshold": {**unit, "description": "Flag threshold override."},
            "review_threshold": {
                **unit,
                "description": "Review threshold override (must not exceed the flag threshold).",
            },
        },
        "example": {
            "items": [
                {"id": "a1", "text": "Officials said the attack was condemned."},
                {"id": "a2", "text": "Join our ranks, brothers, victory is near."},
            ]
        },
    }


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Malformed JSON.",
        413: "Body larger than the limit, or more items than the limit.",
        422: "Well-formed JSON that is not a valid batch.",
        500: "Internal error (logged; no details are returned).",
        503: "The model is not loaded.",
    }
    return {s: {"model": ErrorResponse, "description": text[s]} for s in statuses}


# -- the application -------------------------------------------------------------------------------
@dataclass
class _Limits:
    max_items: int
    max_body_bytes: int
    max_text_chars: int


@dataclass
class _State:
    model_path: str | None
    limits: _Limits
    model: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    lane: anyio.CapacityLimiter | None = None


def _model_info(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": manifest.get("model_id"),
        "version": manifest.get("propclf_version"),
        "sha256": manifest.get("artifact_sha256"),
    }


def _load(model_path: str | None) -> Any:
    from propclf.persistence import load_model

    return load_model(model_path)


def create_app(
    model_path: str | os.PathLike[str] | None = None,
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> FastAPI:
    """Build the scoring service.

    The model is loaded (and its SHA-256 verified) when the application starts, i.e. once per
    worker process; until then, and if loading fails, ``/readyz`` and ``/v1/score`` answer 503.

    Parameters
    ----------
    model_path : path, optional
        A ``.joblib`` model with its manifest; default: the embedded model.
    max_items : int, default=1000
        Most items in one request (more: 413 ``too_many_items``).
    max_body_bytes : int, default=10 MiB
        Largest request body, checked against ``Content-Length`` and while the body is read
        (more: 413 ``body_too_large``).
    max_text_chars : int, default=100000
        Longest text; a longer one gets an ``error`` in its result, the others are scored.

    Returns
    -------
    FastAPI
        The ASGI application (serve it with uvicorn, or test it with ``TestClient``).

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> with TestClient(create_app()) as client:  # doctest: +SKIP
    ...     client.post("/v1/score", json={"items": [{"id": "1", "text": "..."}]}).json()
    """
    for name, value in (
        ("max_items", max_items),
        ("max_body_bytes", max_body_bytes),
        ("max_text_chars", max_text_chars),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    path = None if model_path is None else os.fspath(model_path)
    state = _State(path, _Limits(max_items, max_body_bytes, max_text_chars))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from propclf.persistence import ModelError

        state.lane = anyio.CapacityLimiter(1)
        try:
            model = await anyio.to_thread.run_sync(_load, state.model_path)
        except (ModelError, OSError) as exc:
            log.error("model not loaded, the service is not ready: %s", exc)
        else:
            state.model = model
            state.info = _model_info(model.manifest_)
            log.info("model %s loaded from %s", state.info["id"], model.path_)
        yield
        state.model = None

    app = _Service(
        title="propclf",
        version=__version__,
        summary="Tell extremist propaganda from reporting about extremism.",
        lifespan=lifespan,
    )
    app.state.propclf = state
    app.add_middleware(_InternalErrors)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    def ready_model() -> Any:
        if state.model is None:
            raise ServiceError(503, "not_ready", "the model is not loaded")
        return state.model

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> Response:
        """The process is up."""
        return _JSON({"status": "ok"})

    @app.get("/readyz", response_model=Ready, responses=_responses(503, 500), tags=["health"])
    async def readyz() -> Response:
        """The model is loaded and verified; 503 otherwise."""
        ready_model()
        return _JSON({"status": "ready", "model": state.info})

    @app.get(
        "/v1/model",
        response_model=dict[str, Any],
        responses=_responses(503, 500),
        tags=["model"],
    )
    async def model_manifest() -> Response:
        """The manifest of the model in use: versions, hash, thresholds, metrics."""
        return _JSON(dict(ready_model().manifest_))

    @app.post(
        "/v1/score",
        response_model=ScoreResponse,
        responses=_responses(400, 413, 422, 503, 500),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _request_schema(state.limits.max_items, max_text_chars)
                    }
                },
            }
        },
        tags=["score"],
    )
    async def score(request: Request) -> Response:
        """Score a batch of items: one result per item, in input order.

        An item without a string ``text``, or with a text longer than the limit, gets an
        ``error`` in its result instead of a score; the other items are still scored.
        """
        # Served by score_asgi below; this route documents the endpoint and answers requests
        # that reach the router all the same (e.g. under a root_path).
        model = ready_model()
        body = await _read_body(request, state.limits.max_body_bytes)
        return Response(await answer(model, body), media_type="application/json")

    async def answer(model: Any, body: bytes) -> bytes:
        lane = state.lane
        assert lane is not None
        if len(body) > _INLINE_MAX_BYTES:
            return await anyio.to_thread.run_sync(
                _score_body, model, state.info, state.limits, body, limiter=lane
            )
        if lane.borrowed_tokens:  # a large body is being scored in the thread: wait for it
            async with lane:
                return _score_body(model, state.info, state.limits, body)
        # One scoring at a time: this one runs to the end without giving the loop a turn.
        return _score_body(model, state.info, state.limits, body)

    async def score_asgi(scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/score`` as a plain ASGI handler: no routing, middleware or ``Request``."""
        try:
            model = ready_model()
            body = await _receive_body(scope, receive, state.limits.max_body_bytes)
            status, content = 200, await answer(model, body)
        except ServiceError as exc:
            status, content = exc.status, _error_body(exc.code, exc.message)
        except Exception:
            log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            status, content = 500, _error_body("internal_error", "internal server error")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    app.score_asgi = score_asgi
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    _check_length(request.headers.get("content-length"), limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise ServiceError(413, "body_too_large", f"request body is over {limit} bytes")
    except ClientDisconnect:  # nobody is left to answer; not a server error
        raise ServiceError(400, "client_disconnected", "the client went away") from None
    return bytes(body)


def _check_length(declared: str | None, limit: int) -> None:
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise ServiceError(400, "bad_request", "invalid Content-Length header") from None
    if size > limit:
        raise ServiceError(413, "body_too_large", f"request body is over {limit} bytes")


async def _receive_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """:func:`_read_body` for the plain ASGI handler: the same checks, without a ``Request``."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            _check_length(value.decode("latin-1"), limit)
            break
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: the whole body in one message
        if len(body) > limit:
            raise ServiceError(413, "body_too_large", f"request body is over {limit} bytes")
        return body
    buffer = bytearray()
    while True:
        if message["type"] != "http.request":  # http.disconnect
            raise ServiceError(400, "client_disconnected", "the client went away")
        buffer += message.get("body", b"")
        if len(buffer) > limit:
            raise ServiceError(413, "body_too_large", f"request body is over {limit} bytes")
        if not message.get("more_body", False):
            return bytes(buffer)
        message = await receive()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _fast_loads() -> Callable[[bytes], Any] | None:
    try:
        import orjson
    except ImportError:
        return None
    return orjson.loads


_LOADS = _fast_loads()


def _parse(body: bytes, exact: bool = False) -> Any:
    """The JSON body. orjson parses it when installed; whatever orjson refuses (lone surrogates,
    a byte-order mark, UTF-16, malformed JSON, ...) or parses inexactly (integers beyond 64 bits
    become floats: ``exact=True`` skips orjson) goes to the standard library, whose verdict and
    error message are the service's."""
    if _LOADS is not None and not exact:
        try:
            return _LOADS(body)
        except ValueError:  # orjson.JSONDecodeError
            pass
    if not body.strip():
        raise ServiceError(400, "invalid_json", "empty request body; send a JSON object")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ServiceError(400, "invalid_json", f"malformed JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise ServiceError(400, "invalid_json", "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # invalid UTF-8, NaN/Infinity, integers too long to convert
        raise ServiceError(400, "invalid_json", f"malformed JSON: {exc}") from None


def _unit(payload: Mapping[str, Any], key: str) -> float | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ServiceError(422, "invalid_request", f"'{key}' must be a number from 0 to 1")
    return float(value)


class _Inexact(Exception):
    """A float id where orjson may have read a JSON integer beyond 64 bits: parse exactly."""


@dataclass
class _Batch:
    """The items of a request, column-wise: ``texts[i]`` is None where ``errors`` has ``i``."""

    ids: list[str]
    texts: list[str | None]
    errors: dict[int, str]

    def items(self) -> list[Item]:
        return [
            Item(rid, text=text, error=self.errors.get(i))
            for i, (rid, text) in enumerate(zip(self.ids, self.texts, strict=True))
        ]


def _batch(raw: list[Any], max_text_chars: int, exact: bool = False) -> _Batch:
    """The request items; the usual item (string id, string text within the limit) takes a
    short cut, the others follow :func:`_item` (``exact``: the body was parsed by the standard
    library, a float id is a float)."""
    ids: list[str] = []
    texts: list[str | None] = []
    errors: dict[int, str] = {}
    add_id, add_text = ids.append, texts.append
    for index, rec in enumerate(raw):
        if type(rec) is dict:
            rid, text = rec.get("id"), rec.get("text")
            if type(rid) is str and type(text) is str and len(text) <= max_text_chars:
                add_id(rid)
                add_text(text)
                continue
        if not exact and type(rec) is dict and type(rec.get("id")) is float:
            raise _Inexact
        item = _item(rec, index, max_text_chars)
        add_id(item.id)
        add_text(item.text)
        if item.error is not None:
            errors[index] = item.error
    return _Batch(ids, texts, errors)


def _item(rec: Any, index: int, max_text_chars: int) -> Item:
    """One request item as an :class:`Item` (ids follow the CLI's JSONL rules)."""
    if not isinstance(rec, dict):
        raise ServiceError(
            422, "invalid_request", f"items[{index}] must be an object, not {_kind(rec)}"
        )
    rid = rec.get("id")
    rid = str(index) if rid is None else rid if isinstance(rid, str) else json.dumps(rid)
    if "text" not in rec:
        return Item(rid, error="item has no 'text' field")
    text = rec["text"]
    if not isinstance(text, str):
        return Item(rid, error=f"'text' must be a string, not {_kind(text)}")
    if len(text) > max_text_chars:
        return Item(rid, error=f"text is longer than {max_text_chars} characters")
    return Item(rid, text=text)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "unknown")


def _request(payload: Any, limits: _Limits) -> tuple[list[Any], bool, float | None, float | None]:
    """The checked request: (items, reasons, flag threshold, review threshold)."""
    if type(payload) is not dict:
        raise ServiceError(
            422, "invalid_request", f"the body must be a JSON object, not {_kind(payload)}"
        )
    if not payload.keys() <= _REQUEST_KEYS:
        unknown = sorted(set(payload) - _REQUEST_KEYS)
        raise ServiceError(
            422,
            "invalid_request",
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(_REQUEST_KEYS))}",
        )
    if "items" not in payload:
        raise ServiceError(422, "invalid_request", "missing 'items': a list of {id, text} objects")
    raw = payload["items"]
    if type(raw) is not list:
        raise ServiceError(422, "invalid_request", f"'items' must be an array, not {_kind(raw)}")
    if not raw:
        raise ServiceError(422, "empty_batch", "'items' is empty; send 1 or more items")
    if len(raw) > limits.max_items:
        raise ServiceError(
            413, "too_many_items", f"{len(raw)} items; at most {limits.max_items} per request"
        )
    reasons = payload.get("reasons", False)
    if type(reasons) is not bool:
        raise ServiceError(422, "invalid_request", "'reasons' must be true or false")
    return raw, reasons, _unit(payload, "threshold"), _unit(payload, "review_threshold")


def _score_body(model: Any, info: dict[str, Any], limits: _Limits, body: bytes) -> bytes:
    """Parse, validate and score one request body: the JSON answer (raises :class:`ServiceError`)."""
    payload = _parse(body)
    raw, reasons, flag, review = _request(payload, limits)
    try:
        batch = _batch(raw, limits.max_text_chars)
    except _Inexact:
        raw, reasons, flag, review = _request(_parse(body, exact=True), limits)
        batch = _batch(raw, limits.max_text_chars, exact=True)
    try:
        scorer = Scorer(model, flag=flag, review=review, reasons=REASONS_TOP if reasons else 0)
    except ValueError as exc:
        raise ServiceError(422, "invalid_request", str(exc)) from None
    return _dumps({"model": info, "results": _records(scorer, batch)})


#: The label that goes with each band: ``flag`` means at or above the flag threshold, which is
#: what makes the label ``propaganda`` (see :data:`propclf.result.BANDS`).
_LABEL_OF_BAND = {BANDS[0]: LABELS[1], BANDS[1]: LABELS[0], BANDS[2]: LABELS[0]}


def _records(scorer: Scorer, batch: _Batch) -> list[dict[str, Any]]:
    """One JSON record per item, in order: ``Result.to_dict()`` of ``scorer.score_batch``.

    Without reasons (the usual request), the records are built straight from the model's
    vectorised ``score_documents`` and ``band`` (the library's scoring and thresholds) rather
    than through an :class:`Item` and a frozen :class:`Result` per text, which cost about as
    much as HTTP per batch of 64 short posts; the fields, their order and their values are
    those of ``Result.to_dict()`` (the tests compare the two with exact equality). Requests
    with reasons, and a batch the model fails on, go through :meth:`Scorer.score_batch` itself.
    """
    s = scorer.settings
    if s.reasons or not s.documents:
        return [r.to_dict() for r in _score_items(scorer, batch.items())]
    errors = batch.errors
    good = [i for i in range(len(batch.ids)) if i not in errors] if errors else None
    texts = cast("list[str]", batch.texts if good is None else [batch.texts[i] for i in good])
    if not texts:  # every item has an error
        return [
            Result(id=rid, error=errors[i], model=scorer.model_id).to_dict()
            for i, rid in enumerate(batch.ids)
        ]
    try:
        scores, hits, counts = scorer.model.score_documents(
            texts, review=s.review, return_word_counts=True
        )
        bands = scorer.model.band(scores, flag=s.flag, review=s.review).tolist()
    except Exception:  # the library's path logs it and retries the items one at a time
        return [r.to_dict() for r in _score_items(scorer, batch.items())]
    warnings = coverage_warnings(counts)
    return _build(batch, good, scores.tolist(), bands, hits, warnings, scorer.model_id)


def _build(
    batch: _Batch,
    good: list[int] | None,
    scores: list[float],
    bands: list[str],
    hits: list[tuple[Any, ...]],
    warnings: list[str | None],
    model_id: str | None,
) -> list[dict[str, Any]]:
    ids, label_of = batch.ids, _LABEL_OF_BAND
    scored = ids if good is None else [ids[i] for i in good]
    out: list[dict[str, Any]] = []
    for rid, score, band, hit, warning in zip(scored, scores, bands, hits, warnings, strict=True):
        rec = {
            "id": rid,
            "label": label_of[band],
            "score": round(score, 6),  # as Result.to_dict
            "band": band,
            "error": None,
        }
        if warning is not None:
            rec["warning"] = warning
        if hit:
            rec["passages"] = [p.to_dict() for p in hit]
        if model_id is not None:
            rec["model"] = model_id
        out.append(rec)
    if good is None:
        return out
    records: list[dict[str, Any]] = [{} for _ in ids]
    for k, i in enumerate(good):
        records[i] = out[k]
    for i, message in batch.errors.items():
        records[i] = Result(id=ids[i], error=message, model=model_id).to_dict()
    return records


def _score_items(scorer: Scorer, items: list[Item]) -> list[Result]:
    """One result per item; if the batch fails, items are retried alone (errors stay per item)."""
    try:
        return scorer.score_batch(items)
    except Exception:
        log.exception("a batch of %d items failed; scoring them one at a time", len(items))
    return [r for it in items for r in scorer.score_items([it], batch_size=1)]


# -- running -----------------------------------------------------------------------------------------
class _OneWriteTransport:
    """The connection's transport, sending a response head and the body after it in one write.

    uvicorn writes the status line and headers of a response as soon as the application sends
    ``http.response.start``, and the body with the next message: two ``send`` system calls,
    two TCP segments and two wake-ups of the client per response. A head is held here until the
    next write (the body, normally in the same step of the same task) or, at the latest, the
    next turn of the event loop (a response without a body, ``100 Continue``), or ``close``.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._held: bytes | None = None
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data[:9] == b"HTTP/1.1 " and data[-4:] == b"\r\n\r\n":  # a head alone
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def writelines(self, data: Any) -> None:
        self.write(b"".join(data))

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol with Nagle's algorithm off and one write per response.

    With several workers, uvicorn binds the listening socket without naming the TCP protocol, so
    asyncio does not set ``TCP_NODELAY`` on accepted connections, and every response on a
    kept-alive connection then waits for the client's delayed ACK (about 40 ms on Linux). With
    it on, the head and the body of a response would leave in two segments: they are joined
    (:class:`_OneWriteTransport`).
    """

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(_OneWriteTransport(transport))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def app_from_env() -> FastAPI:
    """Application factory configured from the environment (used by ``propclf serve`` workers).

    Reads ``PROPCLF_SERVE_MODEL`` (model path; default: the embedded model),
    ``PROPCLF_SERVE_MAX_ITEMS``, ``PROPCLF_SERVE_MAX_BODY_BYTES`` and
    ``PROPCLF_SERVE_MAX_TEXT_CHARS``. Also usable directly:
    ``uvicorn --factory propclf.serve:app_from_env``.
    """
    return create_app(
        os.environ.get(ENV_MODEL) or None,
        max_items=_env_int(ENV_MAX_ITEMS, DEFAULT_MAX_ITEMS),
        max_body_bytes=_env_int(ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
        max_text_chars=_env_int(ENV_MAX_TEXT_CHARS, DEFAULT_MAX_TEXT_CHARS),
    )


def check_model(model_path: str | os.PathLike[str] | None) -> str:
    """Verify and load the model once before any worker starts; return its absolute path.

    Raises
    ------
    propclf.ModelError
        The manifest is missing, the hash check failed, or the versions do not match.
    FileNotFoundError
        No model at ``model_path``.
    """
    from propclf.persistence import default_model_path

    path = Path(model_path) if model_path is not None else default_model_path()
    if path.suffix == ".json":
        path = path.with_suffix(".joblib")
    _load(str(path))  # cached: a single-worker server reuses it
    return str(path.resolve())


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = json.loads(json.dumps(LOGGING_CONFIG))
    config["loggers"]["propclf"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def run(
    model_path: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    shutdown_timeout: int = DEFAULT_SHUTDOWN_TIMEOUT,
    access_log: bool = True,
) -> None:
    """Serve until SIGTERM/SIGINT (what ``propclf serve`` runs).

    The model is verified here first, so a bad model path fails fast with a clear error; each
    worker process then loads it at startup. On SIGTERM or SIGINT the server stops accepting
    connections and lets in-flight requests finish for up to ``shutdown_timeout`` seconds.

    Parameters
    ----------
    model_path : path, optional
        A ``.joblib`` model; default: the embedded model.
    host, port : str, int
        Where to listen (default: loopback only).
    workers : int, default=1
        Worker processes, each with its own copy of the model.
    max_items, max_body_bytes, max_text_chars : int
        Request limits, see :func:`create_app`.
    shutdown_timeout : int, default=20
        Seconds given to in-flight requests on shutdown.
    access_log : bool, default=True
        Log one line per request.

    Raises
    ------
    propclf.ModelError, FileNotFoundError
        The model cannot be loaded (see :func:`check_model`).
    """
    import uvicorn

    resolved = check_model(model_path)
    create_app(  # validate the limits here, not in every worker
        resolved, max_items=max_items, max_body_bytes=max_body_bytes, max_text_chars=max_text_chars
    )
    os.environ[ENV_MODEL] = resolved
    os.environ[ENV_MAX_ITEMS] = str(max_items)
    os.environ[ENV_MAX_BODY_BYTES] = str(max_body_bytes)
    os.environ[ENV_MAX_TEXT_CHARS] = str(max_text_chars)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again with the
    # handlers it found; these handlers make that a normal return (exit status 0).
    with _graceful_exit():
        uvicorn.run(
            "propclf.serve:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_graceful_shutdown=shutdown_timeout,
            http="propclf.serve:NoDelayHTTPProtocol",
            log_config=_log_config(),
            access_log=access_log,
            server_header=False,
        )


@contextmanager
def _graceful_exit() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stopped(signum: int, frame: FrameType | None) -> None:
        log.info("stopped by %s", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
