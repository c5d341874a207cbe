"""Reminders: each person's overdue and due-soon tasks, e-mailed once a day through a real SMTP server on
127.0.0.1 (aiosmtpd), by a job on the PostgreSQL queue that runs once however many workers race for it,
and the same tasks live on the person's "Việc của tôi" page."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pgqueuer import AsyncpgDriver
from pgqueuer.queries import EntrypointExecutionParameter
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import vietnam_today
from backend.db.engine import create_session_maker
from backend.db.models import BoardColumn, Membership, Province, Task, TaskAssignee, Tenant, Unit, User
from backend.db.rls import bind_tenant
from backend.db.runtime import DatabaseUrls
from backend.jobs import queue as jobs
from backend.jobs import worker as jobs_worker
from backend.jobs.reminders import send_reminders
from backend.settings import PROJECT_ROOT, Settings, SettingsError, SmtpSettings, load_settings
from backend.web.formatting import vn_date
from tests.html_support import squash
from tests.support import free_port, sign_in

PUBLIC = "http://127.0.0.1:8000"
SENDER = "parboard <nhac-viec@parboard.example.vn>"
SNGV = ("ha-tinh", "so-ngoai-vu")
STNMT = ("ha-tinh", "so-tai-nguyen-moi-truong")
TUAN = "tuan.pa@sngv.hatinh.example.vn"  # staff, Phòng Hợp tác quốc tế
NGUYET = "nguyet.ltm@sngv.hatinh.example.vn"  # unit head, Phòng Lãnh sự
THAO = "thao.ntp@sngv.hatinh.example.vn"  # focal point, Văn phòng – Thanh tra Sở; also a viewer at STNMT below
DUC = "duc.hv@stnmt.hatinh.example.vn"  # staff at STNMT
RECIPIENTS = {TUAN, NGUYET, THAO, DUC}
SECRET = "Rà soát hồ sơ đất đai nội bộ STNMT"  # an STNMT task: never in a Sở Ngoại vụ person's mail
WAIT = 20.0  # seconds: every wait below is bounded


# --- a real SMTP server on 127.0.0.1 --------------------------------------------------------------------------------


@dataclass
class Inbox:
    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)  # notified on each mail

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content or b"", policy=default_policy)
        assert isinstance(message, EmailMessage)
        with self.arrived:
            self.received.append((list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 OK"

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        with self.arrived:
            return list(self.received)

    def to(self, address: str) -> EmailMessage:
        [message] = [m for rcpt, m in self.messages() if rcpt == [address]]
        return message

    async def wait_for(self, count: int) -> None:
        """Until `count` mails have arrived (woken by each one, on a thread: the server runs on its own)."""

        def arrived() -> bool:
            with self.arrived:
                return self.arrived.wait_for(lambda: len(self.received) >= count, timeout=WAIT)

        assert await asyncio.to_thread(arrived), f"{len(self.messages())} of {count} mails after {WAIT} s"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port, ready_timeout=10)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, inbox: Inbox) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=inbox.port, from_address=SENDER, starttls=False, timeout_seconds=5)
    return replace(settings, smtp=smtp)


@pytest.fixture(autouse=True)
async def _empty_queue(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "TRUNCATE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_schedules, "
                "pgqueuer.pgqueuer_statistics RESTART IDENTITY"
            )
        )


# --- tasks in two tenants of Hà Tĩnh ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    today: date
    titles: dict[str, str]  # key → title

    def due(self, days: int) -> date:
        return self.today + timedelta(days)


async def _tenant_parts(owner_engine: AsyncEngine, where: tuple[str, str]) -> tuple[uuid.UUID, Any, Any, Any]:
    sessions = create_session_maker(owner_engine)
    async with sessions() as db:
        tenant_id = await db.scalar(
            select(Tenant.id).join(Province).where(Province.code == where[0], Tenant.code == where[1])
        )
        assert tenant_id is not None
        await bind_tenant(db, tenant_id)
        columns = {c.code: c.id for c in await db.scalars(select(BoardColumn))}
        units = {u.code: u.id for u in await db.scalars(select(Unit))}
        users = {u.email: u.id for u in await db.scalars(select(User))}
    return tenant_id, columns, units, users


async def _add_tasks(
    owner_engine: AsyncEngine,
    where: tuple[str, str],
    today: date,
    rows: list[dict[str, Any]],
    *,
    viewers: tuple[str, ...] = (),
) -> None:
    """Tasks KP-1… of the tenant (as the owner, the tenant bound), and more people made its viewers."""
    tenant_id, columns, units, users = await _tenant_parts(owner_engine, where)
    sessions = create_session_maker(owner_engine)
    async with sessions() as db:
        await bind_tenant(db, tenant_id)
        async with db.begin():
            for person in viewers:
                db.add(Membership(tenant_id=tenant_id, user_id=users[person], role="viewer", unit_id=None))
            for number, row in enumerate(rows, start=1):
                task = Task(
                    id=uuid.uuid4(),
                    tenant_id=tenant_id,
                    number=number,
                    year=row.get("due", today).year,
                    kind="fix",
                    area_code="1",
                    title=row["title"],
                    deficiency="",
                    deadline_text="",
                    due_date=row.get("due"),
                    lead_unit_id=units[row["lead"]] if row.get("lead") else None,
                    expected_output="",
                    notes="",
                    labels=[],
                    column_id=columns[row.get("column", "dang-thuc-hien")],
                    position=number - 1,
                    version=1,
                    search_text="",
                )
                db.add(task)
                await db.flush()
                for person in row.get("assignees", ()):
                    db.add(TaskAssignee(tenant_id=tenant_id, task_id=task.id, user_id=users[person]))


@pytest.fixture
async def plan(owner_engine: AsyncEngine, demo_tenants: None) -> Plan:
    today = vietnam_today()
    titles = {
        "overdue": "Ban hành kế hoạch rà soát thủ tục hành chính",
        "soon": "Báo cáo kết quả thực hiện nhiệm vụ quý",
        "done": "Kiện toàn tổ công tác CCHC (đã xong)",
        "far": "Tổ chức hội nghị đối thoại doanh nghiệp",
        "undated": "Cập nhật quy chế làm việc thường xuyên",
        "today": "Gửi tài liệu kiểm chứng tiêu chí 1.5",
        "secret": SECRET,
        "thao-stnmt": "Góp ý dự thảo quy trình nội bộ",
    }
    p = Plan(today, titles)
    await _add_tasks(
        owner_engine,
        SNGV,
        today,
        [
            {"title": titles["overdue"], "due": p.due(-3), "lead": "phong-lanh-su", "assignees": [TUAN]},
            {"title": titles["soon"], "due": p.due(2), "lead": "phong-hop-tac-quoc-te"},
            {"title": titles["done"], "due": p.due(-5), "assignees": [TUAN], "column": "hoan-thanh"},
            {"title": titles["far"], "due": p.due(30), "assignees": [TUAN]},
            {"title": titles["undated"], "assignees": [TUAN]},
            {"title": titles["today"], "due": p.due(0), "assignees": [THAO]},
        ],
    )
    await _add_tasks(
        owner_engine,
        STNMT,
        today,
        [
            {"title": titles["secret"], "due": p.due(-10), "lead": "van-phong-dang-ky-dat-dai", "assignees": [DUC]},
            {"title": titles["thao-stnmt"], "due": p.due(1), "assignees": [THAO]},
        ],
        viewers=(THAO,),
    )
    return p


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _card(where: tuple[str, str], year: int, number: int) -> str:
    return f"{PUBLIC}/t/{where[0]}/{where[1]}/ke-hoach/{year}/the/{number}"


# --- the e-mails -----------------------------------------------------------------------------------------------------


async def test_each_person_gets_one_mail_with_their_overdue_and_due_soon_tasks(
    jobs_engine: AsyncEngine, mail_settings: Settings, inbox: Inbox, plan: Plan
) -> None:
    report = await send_reminders(jobs_engine, mail_settings, plan.today)
    assert (report.people, report.sent, report.smtp) == (4, 4, True)
    messages = inbox.messages()
    assert sorted(rcpt for rcpts, _ in messages for rcpt in rcpts) == sorted(RECIPIENTS)

    tuan = inbox.to(TUAN)
    assert tuan["Subject"] == "Nhắc việc Chỉ số CCHC: 1 nhiệm vụ quá hạn, 1 nhiệm vụ đến hạn trong 7 ngày"
    assert tuan["From"] == SENDER
    assert tuan["Auto-Submitted"] == "auto-generated"
    body = _text(tuan)
    assert "Kính gửi Phạm Anh Tuấn" in body
    overdue, _, soon = body.partition("Đến hạn trong 7 ngày:")
    assert f"KP-1: {plan.titles['overdue']}" in overdue
    assert f"Hạn {vn_date(plan.due(-3))} (quá hạn 3 ngày)" in overdue
    assert _card(SNGV, plan.due(-3).year, 1) in overdue
    assert f"KP-2: {plan.titles['soon']}" in soon  # through his unit, not assigned
    assert f"Hạn {vn_date(plan.due(2))} (còn 2 ngày)" in soon
    assert "nhiệm vụ của phòng, đơn vị anh/chị" in soon
    for absent in ("done", "far", "undated", "today", "secret", "thao-stnmt"):
        assert plan.titles[absent] not in body
    html = _html(tuan)
    assert f'<a href="{_card(SNGV, plan.due(-3).year, 1)}">KP-1</a>' in html
    assert f'<a href="{_card(SNGV, plan.due(2).year, 2)}">KP-2</a>' in html
    assert vn_date(plan.due(-3)) in html
    assert plan.titles["done"] not in html

    nguyet = _text(inbox.to(NGUYET))  # head of the lead unit of KP-1
    assert inbox.to(NGUYET)["Subject"] == "Nhắc việc Chỉ số CCHC: 1 nhiệm vụ quá hạn"
    assert plan.titles["overdue"] in nguyet
    assert plan.titles["soon"] not in nguyet

    thao = inbox.to(THAO)  # a member of both tenants: one mail, a section per tenant
    assert thao["Subject"] == "Nhắc việc Chỉ số CCHC: 2 nhiệm vụ đến hạn trong 7 ngày"
    thao_body = _text(thao)
    assert "== Sở Ngoại vụ ==" in thao_body
    assert "== Sở Tài nguyên và Môi trường ==" in thao_body
    assert "(đến hạn hôm nay)" in thao_body
    assert _card(STNMT, plan.due(1).year, 2) in thao_body
    assert SECRET not in thao_body  # STNMT's task she is not given


async def test_one_tenants_tasks_never_reach_another_tenants_people(
    jobs_engine: AsyncEngine, mail_settings: Settings, inbox: Inbox, plan: Plan
) -> None:
    await send_reminders(jobs_engine, mail_settings, plan.today)
    duc = inbox.to(DUC)
    assert SECRET in _text(duc)
    assert _card(STNMT, plan.due(-10).year, 1) in _text(duc)
    sngv_titles = [plan.titles[k] for k in ("overdue", "soon", "done", "far", "undated", "today")]
    for content in (_text(duc), _html(duc)):
        assert not [title for title in sngv_titles if title in content]
        assert "/t/ha-tinh/so-ngoai-vu/" not in content
    for person in (TUAN, NGUYET):
        for content in (_text(inbox.to(person)), _html(inbox.to(person))):
            assert SECRET not in content
            assert "/t/ha-tinh/so-tai-nguyen-moi-truong/" not in content


async def test_without_smtp_the_job_logs_and_sends_nothing(
    jobs_engine: AsyncEngine, settings: Settings, inbox: Inbox, plan: Plan
) -> None:
    assert not settings.smtp.configured
    report = await send_reminders(jobs_engine, settings, plan.today)
    assert (report.people, report.sent, report.smtp) == (4, 0, False)
    assert "chưa cấu hình SMTP" in report.summary()
    # the job has returned: a mail it sent would be in the inbox already (kept before the server's 250 reply)
    assert inbox.messages() == []


@pytest.mark.usefixtures("demo_tenants")
async def test_nothing_due_means_no_mail(jobs_engine: AsyncEngine, mail_settings: Settings, inbox: Inbox) -> None:
    report = await send_reminders(jobs_engine, mail_settings, vietnam_today())
    assert (report.people, report.sent) == (0, 0)
    assert report.tenants > 2
    assert inbox.messages() == []


# --- the queue -------------------------------------------------------------------------------------------------------


async def _owner_value(owner_engine: AsyncEngine, sql: str) -> Any:
    async with owner_engine.connect() as db:
        return await db.scalar(text(sql))


async def _with_workers(
    count: int, settings: Settings, database: DatabaseUrls, until: Callable[[], Awaitable[None]]
) -> None:
    """Run `count` workers against the test database until `until` returns, then stop them (bounded)."""
    workers = [jobs_worker.Worker(settings, database, dequeue_timeout=timedelta(seconds=1)) for _ in range(count)]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await until()
    finally:
        for worker in workers:
            worker.stop()
        done, pending = await asyncio.wait(running, timeout=WAIT)
        for task in pending:
            task.cancel()
        assert not pending, "a worker did not stop within the bound"
        for task in done:
            task.result()


async def _schedule_due(owner_engine: AsyncEngine, expression: str, entrypoint: str) -> None:
    """A schedule of the queue that fell due a minute ago (as after a night without any worker)."""
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run) "
                "VALUES (:expression, :entrypoint, now() - interval '1 minute')"
            ),
            {"expression": expression, "entrypoint": entrypoint},
        )


async def test_two_workers_racing_run_the_daily_reminders_once(
    database: DatabaseUrls, owner_engine: AsyncEngine, mail_settings: Settings, inbox: Inbox, plan: Plan
) -> None:
    # The 06:30 run is due (as after a night without any worker): both workers see it at start.
    await _schedule_due(owner_engine, jobs_worker.REMINDERS_CRON, jobs_worker.REMINDERS_DAILY)

    async def four_mails_then_the_run_recorded() -> None:
        await inbox.wait_for(len(RECIPIENTS))
        # until the run is logged, no job of the day waits or runs and the schedule has moved past now: a
        # second run would have been enqueued (or logged) by then
        deadline = time.monotonic() + WAIT
        while not await _owner_value(
            owner_engine,
            f"SELECT EXISTS (SELECT 1 FROM pgqueuer.pgqueuer_log WHERE entrypoint = '{jobs_worker.REMINDERS}'"
            " AND status = 'successful')"
            f" AND NOT EXISTS (SELECT 1 FROM pgqueuer.pgqueuer WHERE entrypoint = '{jobs_worker.REMINDERS}')"
            " AND (SELECT bool_and(next_run > now()) FROM pgqueuer.pgqueuer_schedules"
            f" WHERE entrypoint = '{jobs_worker.REMINDERS_DAILY}')",
        ):
            assert time.monotonic() < deadline, f"the run was not recorded within {WAIT} s"
            await asyncio.sleep(0.05)

    def timed_runs() -> float:
        labels = {"entrypoint": jobs_worker.REMINDERS, "outcome": "ok"}
        return REGISTRY.get_sample_value("parboard_job_seconds_count", labels) or 0.0

    timed_before = timed_runs()
    await _with_workers(2, mail_settings, database, four_mails_then_the_run_recorded)
    assert timed_runs() == timed_before + 1  # the operator's job duration metric saw the one run
    assert sorted(rcpt for rcpts, _ in inbox.messages() for rcpt in rcpts) == sorted(RECIPIENTS)
    runs = await _owner_value(
        owner_engine,
        f"SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE entrypoint = '{jobs_worker.REMINDERS}'"
        " AND status = 'successful'",
    )
    assert runs == 1
    next_run_later = await _owner_value(
        owner_engine,
        "SELECT bool_and(next_run > now() AND last_run IS NOT NULL) FROM pgqueuer.pgqueuer_schedules"
        f" WHERE entrypoint = '{jobs_worker.REMINDERS_DAILY}'",
    )
    assert next_run_later is True
    # The workers' own upkeep (the log folded into statistics) works with the app role's grants.
    connection = await jobs.connect(database.app_url)
    try:
        await jobs.queries(AsyncpgDriver(connection)).aggregate_logs()
    finally:
        await connection.close()
    assert await _owner_value(owner_engine, "SELECT sum(count) FROM pgqueuer.pgqueuer_statistics") >= 1


async def test_the_days_job_is_enqueued_once_and_two_dequeues_get_it_once(
    database: DatabaseUrls, owner_engine: AsyncEngine
) -> None:
    first, second = await jobs.connect(database.app_url), await jobs.connect(database.app_url)
    try:
        queue_a, queue_b = jobs.queries(AsyncpgDriver(first)), jobs.queries(AsyncpgDriver(second))
        day = vietnam_today()
        assert await jobs_worker.enqueue_reminders(queue_a, day) is not None
        assert await jobs_worker.enqueue_reminders(queue_b, day) is None  # the same day, waiting: not again
        assert await jobs_worker.enqueue_reminders(queue_b, day + timedelta(1)) is not None

        async def take(queue: Any) -> list[Any]:
            return list(
                await queue.dequeue(
                    batch_size=10,
                    entrypoints={jobs_worker.REMINDERS: EntrypointExecutionParameter(concurrency_limit=0)},
                    queue_manager_id=uuid.uuid4(),
                    global_concurrency_limit=None,
                    heartbeat_timeout=timedelta(seconds=30),
                )
            )

        taken_a, taken_b = await asyncio.gather(take(queue_a), take(queue_b))
        ids = [job.id for job in taken_a + taken_b]
        assert len(ids) == 2
        assert len(set(ids)) == 2  # nobody got a job twice
    finally:
        await first.close()
        await second.close()


async def test_a_job_whose_worker_died_is_run_by_the_next_worker(
    database: DatabaseUrls, owner_engine: AsyncEngine, mail_settings: Settings, inbox: Inbox, plan: Plan
) -> None:
    connection = await jobs.connect(database.app_url)
    try:
        assert await jobs_worker.enqueue_reminders(jobs.queries(AsyncpgDriver(connection)), plan.today)
    finally:
        await connection.close()
    # Taken by a worker that then died: picked, its heartbeat long stopped.
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "UPDATE pgqueuer.pgqueuer SET status = 'picked', queue_manager_id = gen_random_uuid(), "
                "heartbeat = now() - interval '5 minutes'"
            )
        )
    await _with_workers(1, mail_settings, database, lambda: inbox.wait_for(len(RECIPIENTS)))
    assert len(inbox.messages()) == len(RECIPIENTS)


# --- the page --------------------------------------------------------------------------------------------------------


def _section(page: str, key: str) -> str:
    start = page.index(f'id="{key}"')
    end = page.find("</section>", start)
    return page[start:end]


async def test_my_tasks_page_groups_the_persons_open_tasks_with_links_to_their_cards(
    client: AsyncTestClient[Litestar], plan: Plan
) -> None:
    await sign_in(client, TUAN)
    response = await client.get("/t/ha-tinh/so-ngoai-vu/viec-cua-toi/")  # as the menu links it
    assert response.status_code == 200, response.text
    page = squash(response.text)
    assert '<a href="/t/ha-tinh/so-ngoai-vu/viec-cua-toi/" aria-current="page">Việc của tôi</a>' in page
    overdue, soon, rest = (_section(page, key) for key in ("qua-han", "den-han", "con-lai"))
    assert "Quá hạn" in overdue
    assert plan.titles["overdue"] in overdue
    assert f'href="/t/ha-tinh/so-ngoai-vu/ke-hoach/{plan.due(-3).year}/the/1">KP-1</a>' in overdue
    assert "quá hạn 3 ngày" in overdue
    assert plan.titles["soon"] in soon
    assert "Phòng, đơn vị mình chủ trì" in soon
    assert plan.titles["far"] in rest
    assert plan.titles["undated"] in rest
    assert "chưa có hạn" in rest
    for absent in ("done", "today", "secret", "thao-stnmt"):
        assert plan.titles[absent] not in page


@pytest.mark.usefixtures("demo_tenants")
async def test_my_tasks_page_of_someone_with_nothing_open(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "lien.ct@sngv.hatinh.example.vn")
    response = await client.get("/t/ha-tinh/so-ngoai-vu/viec-cua-toi")
    assert response.status_code == 200
    assert "không có nhiệm vụ nào đang mở" in response.text


async def test_my_tasks_page_needs_a_sign_in(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/t/ha-tinh/so-ngoai-vu/viec-cua-toi", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


# --- the command line ------------------------------------------------------------------------------------------------


def _parboard_env(database: DatabaseUrls, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARBOARD_", "DATABASE_", "PGQUEUER_"))}
    env |= {"PARBOARD_ENV": "test", "PARBOARD_SECRET_KEY": "t" * 40, "PARBOARD_LOG_JSON": "1"}
    env |= {"DATABASE_URL": database.app_url, "DATABASE_OWNER_URL": database.owner_url, **extra}
    return env


PARBOARD = str(Path(sys.executable).with_name("parboard"))


async def test_run_reminders_command_mails_everyone_now(database: DatabaseUrls, inbox: Inbox, plan: Plan) -> None:
    env = _parboard_env(
        database,
        PARBOARD_SMTP_HOST="127.0.0.1",
        PARBOARD_SMTP_PORT=str(inbox.port),
        PARBOARD_SMTP_FROM=SENDER,
        PARBOARD_SMTP_STARTTLS="0",
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [PARBOARD, "jobs", "run-reminders"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4 người cần nhắc, đã gửi 4 thư" in result.stdout
    assert sorted(rcpt for rcpts, _ in inbox.messages() for rcpt in rcpts) == sorted(RECIPIENTS)


async def test_worker_command_starts_and_stops_cleanly_on_ctrl_c(
    database: DatabaseUrls, owner_engine: AsyncEngine
) -> None:
    process = await asyncio.create_subprocess_exec(
        PARBOARD,
        "worker",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_parboard_env(database),
        cwd=PROJECT_ROOT,
    )
    try:
        deadline = time.monotonic() + WAIT
        # Started: it has registered the daily schedule (for tomorrow 06:30, not now).
        while not await _owner_value(owner_engine, "SELECT count(*) FROM pgqueuer.pgqueuer_schedules"):
            assert process.returncode is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker did not start"
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert "worker stopped" in stderr.decode()
    assert await _owner_value(owner_engine, "SELECT count(*) FROM pgqueuer.pgqueuer_log") == 0


# --- settings --------------------------------------------------------------------------------------------------------


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("PARBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PARBOARD_ENV", "test")
    return monkeypatch


@pytest.mark.usefixtures("smtp_env")
def test_without_an_smtp_host_nothing_is_mailed() -> None:
    smtp = load_settings().smtp
    assert not smtp.configured
    assert (smtp.port, smtp.starttls) == (587, True)


def test_smtp_settings_are_read(smtp_env: pytest.MonkeyPatch) -> None:
    smtp_env.setenv("PARBOARD_SMTP_HOST", "smtp.hatinh.gov.vn")
    smtp_env.setenv("PARBOARD_SMTP_PORT", "2525")
    smtp_env.setenv("PARBOARD_SMTP_FROM", SENDER)
    smtp_env.setenv("PARBOARD_SMTP_USER", "parboard")
    smtp_env.setenv("PARBOARD_SMTP_PASSWORD", "bí mật")
    smtp = load_settings().smtp
    assert smtp.configured
    assert (smtp.host, smtp.port, smtp.from_address, smtp.user, smtp.starttls) == (
        "smtp.hatinh.gov.vn",
        2525,
        SENDER,
        "parboard",
        True,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PARBOARD_SMTP_FROM": ""}, "PARBOARD_SMTP_FROM"),
        ({"PARBOARD_SMTP_FROM": "không phải địa chỉ"}, "PARBOARD_SMTP_FROM"),
        ({"PARBOARD_SMTP_USER": "parboard"}, "PARBOARD_SMTP_PASSWORD"),
        ({"PARBOARD_SMTP_USER": "u", "PARBOARD_SMTP_PASSWORD": "p", "PARBOARD_SMTP_STARTTLS": "0"}, "STARTTLS"),
        ({"PARBOARD_SMTP_PORT": "0"}, "PARBOARD_SMTP_PORT"),
        ({"PARBOARD_SMTP_STARTTLS": "có"}, "PARBOARD_SMTP_STARTTLS"),
    ],
)
def test_bad_smtp_settings_are_refused(smtp_env: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    smtp_env.setenv("PARBOARD_SMTP_HOST", "smtp.hatinh.gov.vn")
    smtp_env.setenv("PARBOARD_SMTP_FROM", SENDER)
    for name, value in env.items():
        smtp_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


async def test_a_running_worker_beats_and_readyz_says_so(
    database: DatabaseUrls, owner_engine: AsyncEngine, mail_settings: Settings, client: AsyncTestClient[Litestar]
) -> None:
    # the minute's beat is due (as when a worker starts): the worker runs it at once
    await _schedule_due(owner_engine, jobs.HEARTBEAT_CRON, jobs.HEARTBEAT)
    before = (await client.get("/readyz")).json()["checks"]["worker"]
    assert before == "no worker seen"

    async def beaten() -> None:
        deadline = time.monotonic() + WAIT
        while not await _owner_value(
            owner_engine,
            f"SELECT last_run IS NOT NULL FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = '{jobs.HEARTBEAT}'",
        ):
            assert time.monotonic() < deadline, f"no heartbeat within {WAIT} s"
            await asyncio.sleep(0.05)

    await _with_workers(1, mail_settings, database, beaten)
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "ok"
