"""Documents through the API: list, upload, delete, rebuild, with queries served throughout."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from rag import ingest
from rag.config import Settings
from rag.store import current_version
from tests.fixtures.pdfs import SMALL_LIMIT, bad_files

PDF_PAGES = [
    [
        "雪岭高新区简报",
        "◆雪岭高新区概况",
        "雪岭高新区位于北方山区，以冰雪装备和寒地测试为主导产业，",
        "园区现有企业三百余家，其中高新技术企业一百二十家。",
        "园区建设了寒地汽车测试场，每年接待测试车辆两千余台次，",
        "并与多所高校共建寒地材料联合实验室，培养专业人才。",
    ],
    [
        "◆冰川算力中心",
        "雪岭高新区设立冰川算力中心，总投资12亿元，年内投入运营。",
        "算力中心利用当地低温气候自然散热，能耗比常规数据中心低三成。",
    ],
]
QUESTION = "雪岭高新区的冰川算力中心投资多少？"
MINI_FILES = ["海港高新区通讯.md", "科技金融简报.txt"]
STATUS = {"document_error": 422, "too_large": 413, "bad_input": 400}


@pytest.fixture
def api(live_app: Callable[..., str], mini_index: Settings) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_app(mini_index), timeout=120) as client:
        yield client


def upload(api: httpx.Client, path: Path, name: str | None = None, **params: str) -> httpx.Response:
    with path.open("rb") as handle:
        return api.post("/api/documents", files={"files": (name or path.name, handle)}, params=params)


def data_files(settings: Settings) -> list[str]:
    """Everything in data/, hidden entries too (a staging folder, a partial copy)."""
    return sorted(p.name for p in settings.data_dir.iterdir())


def test_list_documents(api: httpx.Client) -> None:
    documents = {d["doc"]: d for d in api.get("/api/documents").json()}
    assert set(documents) == {"科技金融简报.txt", "海港高新区通讯.md"}
    assert (
        documents["海港高新区通讯.md"]["title"] == "海港高新区通讯"
        and documents["海港高新区通讯.md"]["chunks"] > 0
    )


def test_uploaded_pdf_is_cited_with_its_page_then_deleted_for_good(
    api: httpx.Client, make_pdf: Callable[..., Path], mini_index: Settings
) -> None:
    pdf = make_pdf("雪岭简报.pdf", PDF_PAGES)
    response = upload(api, pdf)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == ["雪岭简报.pdf"]
    assert (mini_index.data_dir / "雪岭简报.pdf").is_file()

    answer = api.post("/api/ask", json={"question": QUESTION}).json()
    assert not answer["refused"] and "12亿元" in answer["answer"]
    citation = answer["citations"][0]
    assert citation["doc"] == "雪岭简报.pdf" and citation["page"] == "第2页"

    assert api.delete("/api/documents/雪岭简报.pdf").status_code == 200
    assert "雪岭简报.pdf" not in {d["doc"] for d in api.get("/api/documents").json()}
    after = api.post("/api/ask", json={"question": QUESTION}).json()
    assert all(c["doc"] != "雪岭简报.pdf" for c in after["citations"])
    assert all(p["doc"] != "雪岭简报.pdf" for p in after["passages"])
    assert api.delete("/api/documents/雪岭简报.pdf").json()["error"]["code"] == "unknown_document"


@pytest.mark.parametrize("name", ["../逃逸.txt", "子目录/简报.txt", "..", ".隐藏.txt", "简报.exe"])
def test_upload_names_with_paths_or_wrong_types_are_refused(
    api: httpx.Client, tmp_path: Path, mini_index: Settings, name: str
) -> None:
    source = tmp_path / "ok.txt"
    source.write_text("雪岭高新区设立冰川算力中心。", encoding="utf-8")
    response = upload(api, source, name=name)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_input"
    assert sorted(p.name for p in mini_index.data_dir.iterdir() if p.is_file()) == [
        "海港高新区通讯.md",
        "科技金融简报.txt",
    ]
    assert not (mini_index.home / "逃逸.txt").exists()


def test_every_bad_file_gets_a_chinese_error_naming_it_and_changes_nothing(
    api: httpx.Client, mini_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    version = current_version(mini_index.index_dir)
    wrong = []
    for bad in bad_files():
        response = api.post("/api/documents", files={"files": (bad.name, bad.content)})
        error = response.json()["error"]
        if (response.status_code, error["code"]) != (STATUS[bad.code], bad.code) or not re.match(
            bad.message, error["message"]
        ):
            wrong.append((bad.name, response.status_code, error))
    assert not wrong
    assert {d["doc"] for d in api.get("/api/documents").json()} == set(MINI_FILES)
    assert data_files(mini_index) == MINI_FILES  # no copy, no staging folder left behind
    assert current_version(mini_index.index_dir) == version


def test_a_batch_indexes_its_good_file_and_reports_each_bad_one(
    api: httpx.Client, make_pdf: Callable[..., Path], mini_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    good = make_pdf("雪岭简报.pdf", PDF_PAGES).read_bytes()
    files = [("files", (bad.name, bad.content)) for bad in bad_files()] + [("files", ("雪岭简报.pdf", good))]
    response = api.post("/api/documents", files=files)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == ["雪岭简报.pdf"]
    assert list(report["failed"]) == [bad.name for bad in bad_files()]
    for bad in bad_files():
        assert re.match(bad.message, report["failed"][bad.name]), (bad.name, report["failed"][bad.name])
    assert data_files(mini_index) == sorted([*MINI_FILES, "雪岭简报.pdf"])
    answer = api.post("/api/ask", json={"question": QUESTION}).json()
    assert answer["citations"][0]["doc"] == "雪岭简报.pdf"


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    api: httpx.Client, mini_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_FILE_BYTES", SMALL_LIMIT)
    version = current_version(mini_index.index_dir)
    host, port = api.base_url.host, api.base_url.port
    assert port is not None
    # Announce 10 GB and send almost none of it: the answer must come without waiting for the rest.
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/documents HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 10000000000\r\n\r\n--b\r\n"
        )
        status, body = _read_response(raw)
    assert status == 413 and body["error"]["code"] == "too_large"
    assert "上传内容过大" in body["error"]["message"] and "16 KB" in body["error"]["message"]

    # Without a Content-Length (chunked), refused once the bytes received pass the limit.
    def chunked() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        yield from (b"x" * 65536 for _ in range(64))  # 4 MB
        yield b"\r\n--b--\r\n"

    response = api.post(
        "/api/documents", content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert "上传内容过大" in response.json()["error"]["message"]
    assert data_files(mini_index) == MINI_FILES
    assert current_version(mini_index.index_dir) == version


def _read_response(raw: socket.socket) -> tuple[int, dict[str, dict[str, str]]]:
    received = b""
    while b"\r\n\r\n" not in received:
        received += raw.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    assert length is not None
    while len(body) < int(length.group(1)):
        body += raw.recv(65536)
    return int(head.split()[1]), json.loads(body)


def test_existing_name_needs_replace(api: httpx.Client, tmp_path: Path) -> None:
    same = tmp_path / "科技金融简报.txt"
    same.write_text("科技金融动态\n◆新的内容\n某市设立了新的天使基金，规模3亿元。\n", encoding="utf-8")
    response = upload(api, same)
    assert response.status_code == 409 and response.json()["error"]["code"] == "document_exists"
    replaced = upload(api, same, replace="true")
    assert replaced.status_code == 200 and replaced.json()["updated"] == ["科技金融简报.txt"]


def test_rebuild_runs_in_the_background_while_queries_keep_working(api: httpx.Client) -> None:
    started = api.post("/api/index/rebuild")
    assert started.status_code == 202 and started.json()["state"] == "running"
    assert api.post("/api/index/rebuild").status_code == 409

    answers: list[int] = []

    def query() -> None:
        answers.append(api.post("/api/search", json={"question": "星火贷", "k": 3}).status_code)

    status = started.json()
    deadline = time.monotonic() + 120
    while status["state"] == "running" and time.monotonic() < deadline:
        thread = threading.Thread(target=query)
        thread.start()
        thread.join()
        status = api.get("/api/index/rebuild").json()
    assert status["state"] == "done", status
    assert (
        status["report"]["documents"] == 2
        and status["stage"] == "sentences"  # the last stage: the answer sentences' vectors
        and status["done"] == status["total"]
    )
    assert answers and set(answers) == {200}
    assert api.get("/api/health").json()["rebuild"]["state"] == "done"


def test_only_briefings_can_be_deleted(api: httpx.Client, mini_index: Settings) -> None:
    (mini_index.data_dir / "briefings.toml").write_text(
        '["科技金融简报.txt"]\ntitle = "科技金融动态"\n', encoding="utf-8"
    )
    response = api.delete("/api/documents/briefings.toml")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_document"
    assert (mini_index.data_dir / "briefings.toml").is_file()


def test_the_same_name_twice_in_one_upload_is_refused(api: httpx.Client) -> None:
    files = [("files", ("同名.txt", b"\xe5\x86\x85\xe5\xae\xb9")), ("files", ("同名.txt", b"\xe5\x86\x85"))]
    response = api.post("/api/documents", files=files)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_input"


def test_upload_a_word_file_with_its_publisher_then_change_its_title(
    api: httpx.Client, mini_index: Settings, tmp_path: Path
) -> None:
    from tests.fixtures.documents import SNOW_TITLE, write_docx

    docx = write_docx(tmp_path / "雪岭简报.docx")
    with docx.open("rb") as handle:
        response = api.post(
            "/api/documents", files={"files": (docx.name, handle)}, data={"publisher": "雪岭市发展改革委"}
        )
    assert response.status_code == 200, response.text
    documents = {d["doc"]: d for d in api.get("/api/documents").json()}
    assert documents["雪岭简报.docx"] | {"chunks": 0} == {
        "doc": "雪岭简报.docx",
        "title": SNOW_TITLE,
        "publisher": "雪岭市发展改革委",
        "date": "2024-03-15",  # from the file's properties
        "kind": "docx",
        "chunks": 0,
    }

    response = api.patch("/api/documents/雪岭简报.docx", json={"title": "雪岭一季度简报", "date": "2024-04"})
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == ["雪岭简报.docx"]
    answer = api.post("/api/ask", json={"question": "冰川算力中心总投资多少？"}).json()
    cited = [c for c in answer["citations"] if c["doc"] == "雪岭简报.docx"]
    assert cited and cited[0]["title"] == "雪岭一季度简报"
    assert "雪岭一季度简报" in (mini_index.data_dir / "briefings.toml").read_text(encoding="utf-8")

    response = api.patch("/api/documents/雪岭简报.docx", json={"title": ""})  # back to the file's title
    assert response.status_code == 200
    documents = {d["doc"]: d for d in api.get("/api/documents").json()}
    assert (
        documents["雪岭简报.docx"]["title"] == SNOW_TITLE and documents["雪岭简报.docx"]["date"] == "2024-04"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"date": "2024年3月"}, "日期格式应为 YYYY-MM-DD"),
        ({"author": "某人"}, ""),
        ({"title": "标" * 201}, ""),
    ],
)
def test_bad_document_fields_are_refused_and_change_nothing(
    api: httpx.Client, mini_index: Settings, body: dict[str, str], message: str
) -> None:
    response = api.patch("/api/documents/科技金融简报.txt", json=body)
    assert response.status_code in (400, 422), response.text
    assert message in response.json()["error"]["message"]
    assert not (mini_index.data_dir / "briefings.toml").exists()


def test_changing_an_unknown_document_is_a_404(api: httpx.Client) -> None:
    response = api.patch("/api/documents/没有这篇.txt", json={"title": "新标题"})
    assert response.status_code == 404
    assert "未找到文档" in response.json()["error"]["message"]
