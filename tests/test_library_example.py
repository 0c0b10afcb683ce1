"""docs/library.md's web service, run as written: its code block is the module under test.

FastAPI's TestClient drives it (lifespan included: the async pool opens and closes), logged
in as a login role in socialdb_app, against a database the migrations made.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.helpers import add_seller, login_role

DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"
SELLER = uuid.UUID("aaaaaaaa-0000-4000-8000-00000000000a")
ACCOUNT = uuid.UUID("aaaaaaaa-0000-4000-8000-0000000000ac")


def example(tmp_path: Path) -> ModuleType:
    match = re.search(r"<!-- example:service -->\n```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match is not None, "docs/library.md has no example:service block"
    path = tmp_path / "service_example.py"
    path.write_text(match.group(1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("service_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["service_example"] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with psycopg.connect(db_url, autocommit=True) as admin:
        add_seller(admin, SELLER, ACCOUNT)
    with login_role(db_url, "socialdb_app") as (_, url):
        monkeypatch.setenv("DATABASE_URL", url)
        try:
            with TestClient(example(tmp_path).app) as client:
                yield client
        finally:
            sys.modules.pop("service_example", None)


def hook(n: int, account: str = str(ACCOUNT), text: str = "oi") -> dict[str, object]:
    return {
        "platform": "instagram",
        "account": account,
        "conversation": f"conv-{n}",
        "sender": f"cust-{n}",
        "message_id": f"m-{n}",
        "text": text,
        "sent_at": f"2026-06-01T12:0{n}:00+00:00",
    }


def test_the_documented_service_ingests_and_pages(client: TestClient) -> None:
    for n in range(3):
        assert client.post("/webhooks", json=hook(n)).json() == {"stored": True}
    assert client.post("/webhooks", json=hook(2)).json() == {"stored": False}  # a redelivery
    assert client.post("/webhooks", json=hook(5, account="nobody")).json() == {"stored": False}
    assert client.post("/webhooks", json=hook(6, text="x" * 9000)).status_code == 422

    first = client.get(f"/accounts/{ACCOUNT}/inbox", headers={"x-seller": str(SELLER)}).json()
    assert [c["platform_conversation_id"] for c in first["conversations"]] == ["conv-2", "conv-1"]
    second = client.get(f"/accounts/{ACCOUNT}/inbox", headers={"x-seller": str(SELLER)}, params=first["next"]).json()
    assert [c["platform_conversation_id"] for c in second["conversations"]] == ["conv-0"]
    assert second["next"] is None
    stranger = client.get(f"/accounts/{ACCOUNT}/inbox", headers={"x-seller": str(uuid.uuid4())}).json()
    assert stranger["conversations"] == []  # another seller's account: nothing, whatever the header
