"""Word 97–2003 (.doc), through a converter the machine has: LibreOffice first
(``soffice --headless`` converts to .docx, which the Word reader then reads with its headings,
numbering and tables), else ``antiword`` (text only, one line per paragraph). Without either,
the error says how to convert.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from rag.cleaning import SourceLine
from rag.errors import DocumentError
from rag.readers import Extracted, PageProgress
from rag.readers.archive import OLE_MAGIC
from rag.readers.tables import table_lines

CONVERT_TIMEOUT_S = 120


def read(path: Path, on_page: PageProgress | None = None) -> Extracted:
    with path.open("rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK"):
        raise DocumentError(f"{path.name}：这是 .docx 格式的文件，请把扩展名改为 .docx 再导入")
    if magic != OLE_MAGIC:
        raise DocumentError(f"{path.name}：不是有效的 Word 97–2003 文件（文件损坏或扩展名不对）")
    if soffice := shutil.which("soffice") or shutil.which("libreoffice"):
        return _through_libreoffice(path, soffice)
    if antiword := shutil.which("antiword"):
        return _through_antiword(path, antiword)
    raise DocumentError(
        f"{path.name}：读取旧版 .doc 需要 antiword 或 LibreOffice（本机都没有）。"
        "请在 Word/WPS 中“另存为” .docx 后导入，或安装其中之一（如 apt install antiword）"
    )


def _through_libreoffice(path: Path, soffice: str) -> Extracted:
    from rag.readers import docx

    with tempfile.TemporaryDirectory(prefix="rag-doc-") as out:
        # A profile of its own: a LibreOffice the user has open would otherwise take the job.
        profile = Path(out, "profile").as_uri()
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "docx"]
        result = _run([*command, "--outdir", out, str(path)], path)
        converted = Path(out, path.stem + ".docx")
        if not converted.is_file():
            raise DocumentError(
                f"{path.name}：LibreOffice 无法转换此 .doc 文件（文件可能损坏或已加密）：{result}"
            )
        return docx.read(converted)  # read before the temporary folder goes


def _through_antiword(path: Path, antiword: str) -> Extracted:
    # -w 0: one paragraph per line; -m UTF-8.txt: output in UTF-8.
    text = _run([antiword, "-m", "UTF-8.txt", "-w", "0", str(path)], path, check=True)
    paragraphs: list[str] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if line.startswith("|") and line.endswith("|") and len(line) > 1:  # antiword draws a table row
            rows.append([cell.strip() for cell in line[1:-1].split("|")])
            continue
        if rows:
            paragraphs.extend(table_lines(rows))
            rows = []
        if line:
            paragraphs.append(line)
    lines = [SourceLine(p, number, None, whole=True) for number, p in enumerate(paragraphs, start=1)]
    if not lines:
        raise DocumentError(f"{path.name}：Word 文件中没有文字")
    return Extracted(lines, unit="段")


def _run(command: list[str], path: Path, check: bool = False) -> str:
    try:
        done = subprocess.run(command, capture_output=True, timeout=CONVERT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise DocumentError(
            f"{path.name}：转换 .doc 超时（{CONVERT_TIMEOUT_S} 秒），请另存为 .docx 后导入"
        ) from e
    stdout = done.stdout.decode("utf-8", "replace")
    if check and done.returncode:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"退出码 {done.returncode}"
        raise DocumentError(f"{path.name}：无法读取 .doc 文件（文件可能损坏或已加密）：{reason}")
    return stdout or done.stderr.decode("utf-8", "replace").strip()
