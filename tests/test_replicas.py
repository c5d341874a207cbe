"""Replicas, not workers: two separate `parboard serve` processes (two "hosts" on two ports of 127.0.0.1) on one
database and one object store. A session made on one works on the other, a board changed through one is fresh
on the other at once, a file uploaded to one downloads from the other."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.sessions import COOKIE
from backend.db.runtime import DatabaseUrls
from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.factories import BOARD, CRITERION, FOCAL, SNGV, multipart
from tests.fixtures.csrf import csrf_in
from tests.samples import PDF_BYTES
from tests.support import free_port, session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")

PARBOARD = Path(sys.executable).with_name("parboard")
SECRET = "t" * 40  # the test app's (make_settings): sessions and CSRF tokens are the same on every host


@pytest.fixture
def hosts(database: DatabaseUrls, tmp_path: Path) -> Iterator[list[str]]:
    """Two `parboard serve` processes, as two hosts of a deployment would run them: their own ports, one
    database, one object store (a shared folder here; S3 in production)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARBOARD_", "DATABASE_"))}
    env |= {
        "PARBOARD_ENV": "test",
        "PARBOARD_SECRET_KEY": SECRET,
        "PARBOARD_LOG_JSON": "1",
        "PARBOARD_LOG_LEVEL": "WARNING",
        "PARBOARD_VAR_DIR": str(tmp_path / "shared-var"),
        "DATABASE_URL": database.app_url,
        "DATABASE_OWNER_URL": database.owner_url,
    }
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(  # our own command
            [str(PARBOARD), "serve", "--port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} not ready within 60 s"
                time.sleep(0.05)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_two_hosts_share_sessions_boards_and_files(
    app: Litestar, owner_engine: AsyncEngine, hosts: list[str]
) -> None:
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    one, other = hosts
    cookie = await session_cookie_for(app, FOCAL)
    # one browser, whichever host the load balancer picks: the same cookies go to both
    async with httpx.AsyncClient(cookies={COOKIE: cookie}, timeout=30) as browser:
        # the session made once is good on both hosts
        for host in hosts:
            page = await browser.get(f"{host}{BOARD}")
            assert page.status_code == 200, page.text[:500]
        token = csrf_in((await browser.get(f"{one}{BOARD}")).text)

        # a task created through one host is on the other's board at once
        form = {"kind": "fix", "area_code": "1", "title": "Việc qua máy một", "deadline_text": "Trong năm"}
        created = await browser.post(f"{one}{BOARD}/them", data={**form, "_csrf_token": token}, follow_redirects=False)
        assert created.status_code in (302, 303), created.text[:500]
        assert "Việc qua máy một" in (await browser.get(f"{other}{BOARD}")).text

        # a file uploaded to one host downloads from the other, byte for byte
        token = csrf_in((await browser.get(f"{one}{CRITERION}")).text)
        body, content_type = multipart([("bao-cao.pdf", PDF_BYTES)])
        uploaded = await browser.post(
            f"{one}{CRITERION}",
            content=body,
            headers={"content-type": content_type, "x-csrftoken": token, "HX-Request": "true"},
        )
        assert uploaded.status_code == 201, uploaded.text[:500]
        links = set(re.findall(rf"{SNGV}/tai-lieu/tep/([0-9a-f-]{{36}})", uploaded.text))
        assert len(links) == 1, links
        download = await browser.get(f"{other}{SNGV}/tai-lieu/tep/{links.pop()}")
        assert download.status_code == 200
        assert download.content == PDF_BYTES
