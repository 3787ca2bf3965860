"""The HTTP service (``propclf serve``): in-process with TestClient, and over real HTTP.

The in-process tests use FastAPI's ``TestClient`` (the lifespan runs, so the model is loaded as
in a worker). The ``slow`` tests start ``python -m propclf.cli serve`` in a subprocess on a free
loopback port and talk to it with httpx.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

with warnings.catch_warnings():
    # Starlette >= 1.x prefers the httpx2 package for its TestClient and warns once, on import,
    # when it falls back to httpx (which is what the dev environment provides).
    warnings.filterwarnings(
        "ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated"
    )
    from fastapi.testclient import TestClient

from propclf import serve  # noqa: E402
from propclf.inputs import Item  # noqa: E402
from propclf.persistence import load_model  # noqa: E402
from propclf.scoring import Scorer  # noqa: E402
from propclf.serve import create_app  # noqa: E402

MAX_ITEMS = 8
MAX_BODY = 4096
MAX_CHARS = 300
LIMIT_ARGS = [
    "--max-items",
    str(MAX_ITEMS),
    "--max-body-bytes",
    str(MAX_BODY),
    "--max-text-chars",
    str(MAX_CHARS),
]

# Generic lines written for these tests.
TEXTS = {
    "r1": "Officials said the group attacked a police station on Monday.",
    "p1": "Brothers, join our ranks, victory is near and the enemy will fall.",
    "r2": "The report describes how the movement recruits young people online.",
    "p2": "Rise up and take up the fight, glory to those who join us.",
}


def _items(texts: dict[str, str] = TEXTS) -> list[dict[str, Any]]:
    return [{"id": k, "text": v} for k, v in texts.items()]


def _expected(model: Any, items: list[Item], **scorer: Any) -> list[dict[str, Any]]:
    """What the Python API says for the same items, as JSON (span tuples become lists)."""
    return json.loads(json.dumps([r.to_dict() for r in Scorer(model, **scorer).score_batch(items)]))


def _assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


# Bodies the service refuses as a whole: (name, raw body, status, error code).
BAD_REQUESTS = [
    ("malformed JSON", b'{"items": [', 400, "invalid_json"),
    ("empty body", b"", 400, "invalid_json"),
    ("not UTF-8", b'{"items": [{"text": "\xff\xfe"}]}', 400, "invalid_json"),
    ("NaN threshold", b'{"items": [{"text": "a"}], "threshold": NaN}', 400, "invalid_json"),
    ("body not an object", b'[{"text": "a"}]', 422, "invalid_request"),
    ("no items", b'{"texts": ["a"]}', 422, "invalid_request"),
    ("missing items", b"{}", 422, "invalid_request"),
    ("items not a list", b'{"items": {"text": "a"}}', 422, "invalid_request"),
    ("item not an object", b'{"items": [{"text": "a"}, "b"]}', 422, "invalid_request"),
    ("empty batch", b'{"items": []}', 422, "empty_batch"),
    ("reasons not a boolean", b'{"items": [{"text": "a"}], "reasons": 1}', 422, "invalid_request"),
    ("threshold above 1", b'{"items": [{"text": "a"}], "threshold": 1.5}', 422, "invalid_request"),
    ("threshold a string", b'{"items": [{"text": "a"}], "threshold": "0.5"}', 422, None),
    (
        "review above flag",
        b'{"items": [{"text": "a"}], "threshold": 0.2, "review_threshold": 0.4}',
        422,
        "invalid_request",
    ),
    (
        "too many items",
        json.dumps({"items": [{"text": "a"}] * (MAX_ITEMS + 1)}).encode(),
        413,
        "too_many_items",
    ),
    (
        "body over the limit",
        json.dumps({"items": [{"text": "a" * (MAX_BODY + 10)}]}).encode(),
        413,
        "body_too_large",
    ),
]


# -- in process --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(saved_model: Path) -> Any:
    return load_model(saved_model)


@pytest.fixture(scope="module")
def client(saved_model: Path) -> Iterator[TestClient]:
    app = create_app(
        saved_model, max_items=MAX_ITEMS, max_body_bytes=MAX_BODY, max_text_chars=MAX_CHARS
    )
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module", params=["plain ASGI", "FastAPI route"])
def either_client(request: pytest.FixtureRequest, saved_model: Path) -> Iterator[TestClient]:
    """The service with ``POST /v1/score`` answered by its plain ASGI handler (as always in
    production), or by the FastAPI route that documents it (what a request reaching the router
    gets, e.g. under a root_path): the two must answer alike."""
    app = create_app(
        saved_model, max_items=MAX_ITEMS, max_body_bytes=MAX_BODY, max_text_chars=MAX_CHARS
    )
    if request.param == "FastAPI route":
        app.score_asgi = None  # type: ignore[attr-defined]
    with TestClient(app) as c:
        yield c


def test_health_readiness_and_manifest(client: TestClient, model: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    manifest = model.manifest_
    assert ready.json() == {
        "status": "ready",
        "model": {
            "id": manifest["model_id"],
            "version": manifest["propclf_version"],
            "sha256": manifest["artifact_sha256"],
        },
    }
    assert client.get("/v1/model").json() == manifest


def test_one_result_per_item_in_input_order(client: TestClient) -> None:
    items = [
        {"id": "z", "text": TEXTS["p1"]},
        {"id": "a", "text": TEXTS["r1"]},
        {"id": "z", "text": TEXTS["r2"]},  # ids are echoed, not deduplicated
        {"text": TEXTS["p2"]},  # no id: its position
        {"id": 42, "text": TEXTS["r1"]},  # non-string ids are written as JSON
    ]
    response = client.post("/v1/score", json={"items": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["z", "a", "z", "3", "42"]
    assert all(r["error"] is None and 0.0 <= r["score"] <= 1.0 for r in results)


def test_scores_are_those_of_the_python_api(either_client: TestClient, model: Any) -> None:
    body = either_client.post("/v1/score", json={"items": _items()}).json()
    expected = _expected(model, [Item(k, text=v) for k, v in TEXTS.items()])
    assert body["results"] == expected
    direct = model.score(list(TEXTS.values()))
    assert [r["score"] for r in body["results"]] == [round(float(s), 6) for s in direct]
    assert body["model"]["id"] == model.manifest_["model_id"]


def test_unscorable_items_get_an_error_and_the_others_are_scored(
    either_client: TestClient, model: Any
) -> None:
    client = either_client
    items = [
        {"id": "ok1", "text": TEXTS["r1"]},
        {"id": "no-text"},
        {"id": "number", "text": 5},
        {"id": "null", "text": None},
        {"id": "list", "text": ["a", "b"]},
        {"id": "long", "text": "word " * MAX_CHARS},
        {"id": "ok2", "text": TEXTS["p1"]},
    ]
    response = client.post("/v1/score", json={"items": items})
    assert response.status_code == 200
    results = {r["id"]: r for r in response.json()["results"]}
    assert list(results) == [it["id"] for it in items]
    for bad in ("no-text", "number", "null", "list", "long"):
        assert results[bad]["error"], bad
        assert results[bad]["score"] is None and results[bad]["label"] is None
    assert "longer than" in results["long"]["error"]
    expected = _expected(model, [Item("ok1", text=TEXTS["r1"]), Item("ok2", text=TEXTS["p1"])])
    assert [results["ok1"], results["ok2"]] == expected


@pytest.mark.parametrize("where", ["event loop", "thread"])
@pytest.mark.parametrize("encoder", ["orjson", "json"])
def test_same_answer_scored_inline_or_in_the_thread_with_either_encoder(
    client: TestClient, model: Any, monkeypatch: pytest.MonkeyPatch, where: str, encoder: str
) -> None:
    if where == "thread":  # every body is larger than the inline limit
        monkeypatch.setattr(serve, "_INLINE_MAX_BYTES", 0)
    if encoder == "json":
        monkeypatch.setattr(serve, "_DUMPS", None)
    elif serve._DUMPS is None:
        pytest.skip("orjson is not installed")
    items = [
        *_items(),
        {"id": "no-text"},
        {"id": "caf\u00e9 \u2013 \U0001f600", "text": TEXTS["p1"]},
    ]
    response = client.post("/v1/score", json={"items": items, "reasons": True})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = _expected(
        model,
        [
            Item(
                str(it["id"]),
                text=it.get("text"),
                error=None if "text" in it else "item has no 'text' field",
            )
            for it in items
        ],
        reasons=5,
    )
    assert response.json()["results"] == expected


def test_reasons_are_the_explain_output(client: TestClient, model: Any) -> None:
    plain = client.post("/v1/score", json={"items": _items()}).json()["results"]
    assert all("reasons" not in r for r in plain)
    body = client.post("/v1/score", json={"items": _items(), "reasons": True}).json()
    items = [Item(k, text=v) for k, v in TEXTS.items()]
    assert body["results"] == _expected(model, items, reasons=5)
    assert any(r["reasons"] for r in body["results"])
    assert all(len(r["reasons"]) <= 5 for r in body["results"])


def test_per_request_thresholds(client: TestClient, model: Any) -> None:
    everything = client.post("/v1/score", json={"items": _items(), "threshold": 0.0}).json()
    assert {(r["label"], r["band"]) for r in everything["results"]} == {("propaganda", "flag")}
    nothing = client.post(
        "/v1/score", json={"items": _items(), "threshold": 1.0, "review_threshold": 1.0}
    ).json()
    assert {r["band"] for r in nothing["results"]} <= {"pass", "flag"}
    items = [Item(k, text=v) for k, v in TEXTS.items()]
    custom = {"threshold": 0.3, "review_threshold": 0.1}
    got = client.post("/v1/score", json={"items": _items(), **custom}).json()["results"]
    assert got == _expected(model, items, flag=0.3, review=0.1)


@pytest.mark.parametrize(
    ("name", "body", "status", "code"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS]
)
def test_bad_requests_get_a_json_4xx(
    either_client: TestClient, name: str, body: bytes, status: int, code: str | None
) -> None:
    response = either_client.post(
        "/v1/score", content=body, headers={"content-type": "application/json"}
    )
    _assert_error(response, status, code)


def test_body_over_the_limit_is_refused_while_streaming(either_client: TestClient) -> None:
    client = either_client

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"items": [{"text": "'
        for _ in range(MAX_BODY // 100 + 2):
            yield b"a" * 100
        yield b'"}]}'

    response = client.post("/v1/score", content=chunks())
    _assert_error(response, 413, "body_too_large")
    small = client.post("/v1/score", content=iter([b'{"items": [{"text": "fine"}]}']))
    assert small.status_code == 200


def test_unknown_paths_and_methods_get_json_errors(client: TestClient) -> None:
    _assert_error(client.get("/v2/score"), 404, "not_found")
    wrong = client.get("/v1/score")
    _assert_error(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "POST"


def test_ids_and_texts_with_lone_surrogates_do_not_break_the_response(
    client: TestClient,
) -> None:
    body = b'{"items": [{"id": "x\\ud800", "text": "join \\udfff us"}]}'
    response = client.post("/v1/score", content=body)
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["id"] == "x\ud800"


def test_server_errors_are_logged_and_answered_without_internals(
    either_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = either_client

    class Broken:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("secret internal detail")

    monkeypatch.setattr("propclf.serve.Scorer", Broken)
    with caplog.at_level("ERROR", logger="propclf.serve"):
        response = client.post("/v1/score", json={"items": _items()})
    _assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)
    assert client.get("/healthz").status_code == 200


def test_not_ready_when_the_model_fails_verification(
    saved_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "tampered.joblib"
    shutil.copy(saved_model, bad)
    shutil.copy(saved_model.with_suffix(".json"), bad.with_suffix(".json"))
    with bad.open("ab") as f:
        f.write(b"\0")
    with caplog.at_level("ERROR", logger="propclf.serve"), TestClient(create_app(bad)) as c:
        assert c.get("/healthz").status_code == 200
        _assert_error(c.get("/readyz"), 503, "not_ready")
        _assert_error(c.get("/v1/model"), 503, "not_ready")
        _assert_error(c.post("/v1/score", json={"items": _items()}), 503, "not_ready")
    assert any("hash check failed" in r.getMessage() for r in caplog.records)


# The service builds its records from the model's vectorised scores instead of through a Result
# per item; these tests hold it to Result.to_dict(), field for field, in order, and byte for byte.
WORDS = sorted(set(" ".join(TEXTS.values()).replace(",", "").replace(".", "").split()))


@pytest.fixture(scope="module")
def wide_client(saved_model: Path) -> Iterator[TestClient]:
    """Texts up to 2,000 characters: long enough to be scored by passage."""
    with TestClient(create_app(saved_model, max_items=64, max_text_chars=2000)) as c:
        yield c


def test_records_are_the_library_result_records(wide_client: TestClient, model: Any) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    text = st.lists(st.sampled_from(WORDS), max_size=150).map(" ".join)  # up to ~1,000 chars
    item = st.one_of(
        st.fixed_dictionaries({"id": st.text(max_size=5), "text": text}),
        st.fixed_dictionaries({}, optional={"id": st.integers() | st.none(), "text": text}),
        st.fixed_dictionaries({"id": st.text(max_size=3), "text": st.integers() | st.none()}),
        st.fixed_dictionaries({"text": st.just("word " * 500)}),  # over the length limit
    )
    unit = st.floats(0.0, 1.0)

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(items=st.lists(item, min_size=1, max_size=20), flag=unit | st.none(), review=unit)
    def run(items: list[dict[str, Any]], flag: float | None, review: float) -> None:
        payload: dict[str, Any] = {"items": items}
        if flag is not None:
            payload["threshold"] = flag
            payload["review_threshold"] = review = min(review, flag)
        response = wide_client.post("/v1/score", content=json.dumps(payload).encode())
        assert response.status_code == 200, response.text
        expected = [
            r.to_dict()
            for r in Scorer(
                model, flag=flag, review=review if flag is not None else None
            ).score_batch([serve._item(it, i, 2000) for i, it in enumerate(items)])
        ]
        assert response.json()["results"] == json.loads(json.dumps(expected))
        answer = response.content
        assert answer == serve._dumps(
            {"model": serve._model_info(model.manifest_), "results": expected}
        )

    run()


def test_records_of_long_texts_carry_their_passages(wide_client: TestClient, model: Any) -> None:
    long_text = " ".join([TEXTS["r1"], TEXTS["p1"]] * 8)
    items = [{"id": "long", "text": long_text}, {"id": "short", "text": TEXTS["p2"]}]
    low = {"threshold": 0.5, "review_threshold": 0.05}  # passages are listed from review up
    results = wide_client.post("/v1/score", json={"items": items, **low}).json()["results"]
    assert "passages" in results[0] and "passages" not in results[1]
    expected = _expected(
        model, [Item(it["id"], text=it["text"]) for it in items], flag=0.5, review=0.05
    )
    assert results == expected
    assert [list(r) for r in results] == [list(r) for r in expected]  # same keys, same order


@pytest.mark.parametrize(
    ("name", "body", "ids"),
    [
        (
            "integer ids beyond 64 bits",
            b'{"items": [{"id": 123456789012345678901, "text": "a"},'
            b' {"id": -9223372036854775809, "text": "b"}, {"id": 1.5, "text": "c"}]}',
            ["123456789012345678901", "-9223372036854775809", "1.5"],
        ),
        ("UTF-8 byte-order mark", b'\xef\xbb\xbf{"items": [{"id": "a", "text": "a"}]}', ["a"]),
        ("UTF-16", '{"items": [{"id": "b", "text": "b"}]}'.encode("utf-16"), ["b"]),
    ],
    ids=["big integers", "BOM", "UTF-16"],
)
def test_bodies_orjson_refuses_or_reads_inexactly_are_read_as_the_standard_library_does(
    either_client: TestClient, name: str, body: bytes, ids: list[str]
) -> None:
    response = either_client.post("/v1/score", content=body)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["results"]] == ids


def test_a_client_gone_while_sending_gets_no_server_error() -> None:
    import asyncio

    messages = iter(
        [
            {"type": "http.request", "body": b'{"items"', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Any:
        return next(messages)

    scope = {"headers": [(b"content-length", b"100")]}
    with pytest.raises(serve.ServiceError) as caught:
        asyncio.run(serve._receive_body(scope, receive, 1000))
    assert caught.value.code == "client_disconnected"


def test_a_response_head_leaves_with_its_body_in_one_write() -> None:
    import asyncio

    class Transport:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def close(self) -> None:
            self.closed = True

        def is_closing(self) -> bool:
            return self.closed

    async def main() -> None:
        real = Transport()
        t = serve._OneWriteTransport(real)
        head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
        t.write(head)
        t.write(b"{}")
        assert real.writes == [head + b"{}"]
        t.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # a head alone: sent on the next turn
        assert len(real.writes) == 1
        await asyncio.sleep(0)
        assert real.writes[-1] == b"HTTP/1.1 100 Continue\r\n\r\n"
        t.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        t.close()  # ...or when the connection closes
        assert real.writes[-1] == b"HTTP/1.1 204 No Content\r\n\r\n" and real.closed
        assert t.is_closing() and len(real.writes) == 3
        await asyncio.sleep(0)
        assert len(real.writes) == 3
        t.write(head)
        t.writelines([b"{", b"}"])
        assert real.writes[-1] == head + b"{}"

    asyncio.run(main())


def test_the_openapi_document_states_the_limits(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/healthz", "/readyz", "/v1/model", "/v1/score"}
    op = doc["paths"]["/v1/score"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["items"]["maxItems"] == MAX_ITEMS
    assert schema["properties"]["items"]["items"]["properties"]["text"]["maxLength"] == MAX_CHARS
    assert {"200", "400", "413", "422", "500", "503"} <= set(op["responses"])


@pytest.mark.parametrize("limit", ["max_items", "max_body_bytes", "max_text_chars"])
def test_limits_must_be_positive(saved_model: Path, limit: str) -> None:
    with pytest.raises(ValueError, match=limit):
        create_app(saved_model, **{limit: 0})


# -- fuzzing the OpenAPI document with schemathesis --------------------------------------------
@pytest.fixture(scope="module")
def api_schema(saved_model: Path) -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    app = create_app(
        saved_model, max_items=MAX_ITEMS, max_body_bytes=MAX_BODY, max_text_chars=MAX_CHARS
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _check_one_result_per_item(case: Any, response: Any) -> None:
    if response.status_code != 200 or case.path != "/v1/score":
        return
    results = response.json()["results"]
    assert len(results) == len(case.body["items"])
    for i, (item, result) in enumerate(zip(case.body["items"], results, strict=True)):
        given = item.get("id")
        if isinstance(given, str):
            assert result["id"] == given
        elif given is None:
            assert result["id"] == str(i)
        assert (result["score"] is None) == (result["error"] is not None)


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_schemathesis_fuzzing(api_schema: Any, model: Any, mode: str) -> None:
    """No 5xx; status codes, content types and bodies conform to the OpenAPI document.

    Negative data that breaks only an item (a text too long or not a string) is answered with
    200 and a per-item error by design, so ``negative_data_rejection`` is not applied.
    """
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import negative_data_rejection

    generation = GenerationMode(mode)
    flag = model.flag_threshold
    ops = [api_schema[path]["POST" if path == "/v1/score" else "GET"] for path in api_schema]
    strategy = ops[0].as_strategy(generation_mode=generation)
    for op in ops[1:]:
        strategy = strategy | op.as_strategy(generation_mode=generation)
    excluded = [negative_data_rejection] if mode == "negative" else []

    @settings(
        max_examples=40,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        review, threshold = body.get("review_threshold"), body.get("threshold", flag)
        if mode == "positive" and isinstance(review, float | int) and review > threshold:
            # valid field by field, but review above flag: refused (a rule the schema can't say)
            response = case.call()
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "invalid_request"
            return
        response = case.call_and_validate(excluded_checks=excluded)
        _check_one_result_per_item(case, response)

    run()


# -- CLI -----------------------------------------------------------------------------------------
def _python(code: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_import_propclf_and_its_cli_do_not_import_fastapi() -> None:
    done = _python(
        "import sys, propclf, propclf.cli; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_serve_without_fastapi_says_how_to_install(saved_model: Path) -> None:
    done = _python(
        "import sys; sys.modules['fastapi'] = None; from propclf.cli import main; "
        f"main(['serve', '--model', {str(saved_model)!r}])"
    )
    assert done.returncode == 1
    assert "pip install 'propclf[serve]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_tampered_model_before_listening(saved_model: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from propclf.cli import main

    bad = tmp_path / "tampered.joblib"
    bad.write_bytes(saved_model.read_bytes() + b"\0")
    shutil.copy(saved_model.with_suffix(".json"), bad.with_suffix(".json"))
    result = CliRunner().invoke(main, ["serve", "--model", str(bad), "--port", "1"])
    assert result.exit_code == 1
    assert "hash check failed" in result.output
    missing = CliRunner().invoke(main, ["serve", "--model", str(tmp_path / "no.joblib")])
    assert missing.exit_code == 1
    assert "no model artifact" in missing.output


# -- over HTTP, in a subprocess --------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``propclf serve`` in a subprocess on a free loopback port, logging to a file."""

    def __init__(self, model: Path, log: Path, *args: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [sys.executable, "-m", "propclf.cli", "serve", "--port", str(self.port)]
        cmd += ["--model", str(model), "--no-access-log", *args]
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent, env=os.environ.copy()
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"server not ready after {timeout}s:\n{self.output()}")

    def terminate(self, timeout: float = 15.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"server still running {timeout}s after SIGTERM:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def server(saved_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(saved_model, tmp_path_factory.mktemp("serve") / "server.log", *LIMIT_ARGS)
    try:
        srv.wait_ready()
        yield srv
        assert srv.terminate() == 0, srv.output()
    finally:
        srv.stop()
    assert "Traceback" not in srv.output()


@pytest.mark.slow
def test_http_health_readiness_and_manifest(server: Server, model: Any) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json()["model"]["sha256"] == model.manifest_["artifact_sha256"]
        assert http.get("/v1/model").json() == model.manifest_
        assert http.get("/openapi.json").json()["paths"]["/v1/score"]["post"]


@pytest.mark.slow
def test_http_scoring_matches_the_python_api(server: Server, model: Any) -> None:
    items = [*_items(), {"id": "no-text"}, {"id": "bad", "text": 1}, {"id": "x", "text": ""}]
    with httpx.Client(base_url=server.url) as http:
        plain = http.post("/v1/score", json={"items": items})
        explained = http.post("/v1/score", json={"items": items[:4], "reasons": True})
    assert plain.status_code == 200
    results = plain.json()["results"]
    assert [r["id"] for r in results] == [it["id"] for it in items]
    assert results[4]["error"] and results[5]["error"] and results[6]["error"] is None
    scorable = [Item(k, text=v) for k, v in TEXTS.items()] + [Item("x", text="")]
    scored = [r for r in results if r["error"] is None]
    assert scored == _expected(model, scorable)
    assert explained.json()["results"] == _expected(model, scorable[:4], reasons=5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "body", "status", "code"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS]
)
def test_http_bad_requests_get_a_json_4xx(
    server: Server, name: str, body: bytes, status: int, code: str | None
) -> None:
    response = httpx.post(
        f"{server.url}/v1/score", content=body, headers={"content-type": "application/json"}
    )
    _assert_error(response, status, code)


@pytest.mark.slow
def test_http_expect_100_continue_and_keep_alive(server: Server) -> None:
    """The held response head of ``100 Continue`` is sent although no body follows it."""
    body = json.dumps({"items": _items()}).encode()
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        sock.sendall(head)
        assert reader.readline().startswith(b"HTTP/1.1 100")
        assert reader.readline() == b"\r\n"
        sock.sendall(body)
        for _ in range(2):  # and a second request on the same connection
            assert reader.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            results = json.loads(reader.read(length))["results"]
            assert [r["id"] for r in results] == list(TEXTS)
            sock.sendall(head.replace(b"Expect: 100-continue\r\n", b"") + body)


@pytest.mark.slow
def test_http_streamed_body_over_the_limit(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"items": [{"text": "'
        for _ in range(MAX_BODY // 1000 + 1):
            yield b"a" * 1000
        yield b'"}]}'

    _assert_error(httpx.post(f"{server.url}/v1/score", content=chunks()), 413, "body_too_large")


@pytest.mark.slow
def test_sigterm_lets_the_request_in_flight_finish(saved_model: Path, tmp_path: Path) -> None:
    srv = Server(saved_model, tmp_path / "server.log", "--shutdown-timeout", "10")
    first_part_sent, finish = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def body() -> Iterator[bytes]:
        yield b'{"items": [{"id": "slow", "text": "Officials said'
        first_part_sent.set()
        finish.wait(20)
        yield b' the attack was condemned."}]}'

    def post(http: httpx.Client) -> None:
        try:
            outcome["response"] = http.post("/v1/score", content=body(), timeout=30)
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    try:
        srv.wait_ready()
        with httpx.Client(base_url=srv.url) as http:
            assert http.get("/healthz").status_code == 200  # the connection is now open
            sender = threading.Thread(target=post, args=(http,))
            sender.start()
            assert first_part_sent.wait(10)
            time.sleep(1.0)  # the server has read the request head
            srv.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # new connections are refused...
                try:
                    httpx.get(f"{srv.url}/healthz", timeout=1.0)
                except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                    # refused outright, or reset: a connection that reached the backlog
                    # just before the listening socket closed is dropped, not served
                    break
                time.sleep(0.1)
            else:
                pytest.fail("server still accepting connections after SIGTERM")
            assert srv.proc.poll() is None  # ...while the request in flight is waited for
            finish.set()
            sender.join(30)
        assert "error" not in outcome, outcome.get("error")
        response = outcome["response"]
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["results"]] == ["slow"]
        assert srv.proc.wait(15) == 0, srv.output()
    finally:
        finish.set()
        srv.stop()
    assert "Traceback" not in srv.output()


@pytest.mark.slow
def test_two_workers_serve_and_stop_cleanly(saved_model: Path, tmp_path: Path, model: Any) -> None:
    srv = Server(saved_model, tmp_path / "server.log", "--workers", "2")
    try:
        srv.wait_ready()
        with httpx.Client(base_url=srv.url) as http:
            for _ in range(4):
                response = http.post("/v1/score", json={"items": _items()})
                assert response.status_code == 200
                assert response.json()["results"] == _expected(
                    model, [Item(k, text=v) for k, v in TEXTS.items()]
                )
        assert srv.terminate() == 0, srv.output()
    finally:
        srv.stop()
    out = srv.output()
    assert out.count("Application shutdown complete") == 2, out
    assert "Traceback" not in out
