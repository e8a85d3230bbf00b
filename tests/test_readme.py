from __future__ import annotations

import re

from typer.testing import CliRunner

from rag.cli import app
from tests.fixtures.corpus import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _commands()[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command.endswith("pytest -q")
    assert test_command in ci.splitlines()


def test_readme_first_command_installs_and_asks() -> None:
    first = _commands()[0]
    assert "pip install -e ." in first and 'rag ask "' in first


def test_every_documented_command_exists() -> None:
    documented = set(re.findall(r"^\| `rag (\w+)", README, flags=re.MULTILINE))
    result = CliRunner().invoke(app, ["--help"])
    listed = set(re.findall(r"│ (\w+)\s{2,}", result.stdout))
    assert documented == {"index", "ask", "search", "add", "describe", "remove", "list", "eval", "serve"}
    assert documented <= listed


def test_the_milvus_compose_file_serves_what_the_readme_configures() -> None:
    import yaml

    compose = yaml.safe_load((REPO / "deploy" / "milvus" / "docker-compose.yml").read_text(encoding="utf-8"))
    milvus = compose["services"]["milvus"]
    assert milvus["image"].startswith("milvusdb/milvus:v2.5") and "19530:19530" in milvus["ports"]
    assert {"etcd", "minio"} <= set(compose["services"]) and set(milvus["depends_on"]) == {"etcd", "minio"}
    assert "deploy/milvus/docker-compose.yml" in README and 'uri = "http://' in README
