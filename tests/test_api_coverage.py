"""Everything a page does has its operation in the API's schema (issue 21): a walk over every page route that
changes something (POST, PUT, PATCH, DELETE outside /api/v1), each named with its API counterpart or, for what only
a browser does, in the commented allow-list. A new page that writes, with neither, fails here. The pages that read
are walked too: each with the operation that gives its data, or why a program needs none; a new page that reads,
with neither, fails here (there is no list of reads the API does not give yet)."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from backend.web.api import API_PREFIX

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Page route → the API operation doing the same through the same services (both by route name).
COUNTERPARTS: dict[str, str | tuple[str, ...]] = {
    # self-assessment
    "assessment:start": "api:assessment_start",
    "assessment:save_row": "api:assessment_save_row",
    "assessment:transition": "api:assessment_transition",
    "assessment:claim_not_applicable": "api:not_applicable_claim",
    "province:not_applicable": "api:not_applicable_decide",
    "province:not_applicable_answer": "api:not_applicable_answer",
    "province:not_applicable_revoke": "api:not_applicable_revoke",
    # remedy board and plan
    "board:create": "api:task_create",
    "board:update": "api:task_edit",
    "board:move": "api:task_move",
    "board:comment": "api:task_comment",
    "board:checklist_add": "api:task_checklist_add",
    "board:checklist_toggle": "api:task_checklist_tick",
    "board:generate": "api:plan_generate",
    "board:plan": ("api:plan_approve", "api:plan_reopen", "api:plan_result_date"),
    "plan:preview": "api:plan_import_preview",
    "plan:import-confirm": "api:plan_import",
    "reports:save": "api:report_save",
    "reports:submit": "api:report_submit",
    # evidence, submission, review
    "evidence:upload_criterion": "evidence:api_upload",
    "evidence:upload_task": "evidence:api_upload_task",
    "evidence:upload_request": "evidence:api_upload_request",
    "evidence:delete": "evidence:api_delete",
    "explanation:answer": "api:explanation_answer",
    "submission:submit": "submission:api_submit",
    "submission:verify": "submission:api_verify",
    "submission:step": "submission:api_step",
    "tenant:carry_over": "api:carry_over",
    "review:criterion": ("api:review_decide", "api:review_request", "api:review_sign_off", "api:review_assign"),
    "review:step": "api:review_step",
    # tenant and province administration
    "admin:invite": "api:invite",
    "admin:revoke-invitation": "api:revoke_invitation",
    "admin:change-role": "api:change_role",
    "admin:member-action": "api:member_action",
    "admin:province-invite": "api:province_invite",
    "admin:criteria-upload": "api:criteria_import",
    "admin:survey-answers": "external:api_survey",
    "admin:external-import": "external:api_workbook",
    "admin:external-save": "external:api_save",
}

# What only a person at a browser does: no program should.
BROWSER_ONLY: dict[str, str] = {
    # ends the browser's own session cookie; a program holds no session to end (a token is revoked instead)
    "auth:sign-out": "the session cookie",
    # an API token is a secret shown once to the person creating it, and revoked by a person: a token (or a script
    # holding a session) minting and revoking tokens would let one leaked secret outlive its revocation
    "admin:token-create": "tokens are made by people",
    "admin:token-revoke": "tokens are revoked by people",
    "admin:province-token-create": "tokens are made by people",
    "admin:province-token-revoke": "tokens are revoked by people",
}


# Page that reads → the operation giving the same data (a chart or a spreadsheet of a page is a rendering of it).
READ_COUNTERPARTS: dict[str, str] = {
    "tenant:home": "api:tenant",
    "tenant:chart": "results:api_tenant",
    "assessment:overview": "api:assessment",
    "assessment:area": "api:assessment_rows",
    "assessment:chart": "api:assessment",
    "assessment:export": "api:assessment_rows",
    "province:results": "results:api_province",
    "province:results_chart": "results:api_province",
    "province:results_export": "results:api_province",
    "board:show": "api:tasks",
    "board:card": "api:task",
    "tasks:mine": "api:tasks",  # with ?nguoi=<the person>
    "plan:docx": "api:plan_docx",
    "plan:xlsx": "api:plan_xlsx",
    "reports:list": "api:reports",
    "reports:show": "api:report",
    "evidence:criterion": "evidence:api_list",  # with ?tieu-chi=<code>
    "evidence:download": "evidence:api_download",
    "evidence:task": "evidence:api_task_files",
    "evidence:request": "evidence:api_request_files",
    "explanation:list": "api:explanation_requests",
    "explanation:criterion": "api:explanation_requests",
    "explanation:summary": "api:explanation_requests",
    "submission:status": "submission:api_list",
    "submission:download": "submission:api_download",
    "review:list": "api:review_queue",
    "review:department": "api:review_department",
    "review:evidence": "api:review_evidence",
    "admin:members": "api:members",
    "admin:audit": "api:audit",
    "admin:province": "api:province_tenants",
    "admin:criteria-sets": "api:criteria_sets",
    "admin:external-scores": "external:api_grid",
    "admin:external-template": "external:api_template",
}

# Pages that read but give a program nothing of its own.
PAGE_ONLY_READS: dict[str, str] = {
    # redirects to the current year's page
    "assessment:index": "navigation",
    "board:index": "navigation",
    "reports:index": "navigation",
    "submission:index": "navigation",
    "review:index": "navigation",
    "province:results_index": "navigation",
    "admin:external-years": "navigation",
    # the form of a write whose operation takes the data directly
    "board:new": "form",
    "board:move_form": "form",
    "plan:import": "form",
    "submission:verify_form": "form",
    # a file shown inside the browser (the download is the API's)
    "evidence:preview": "browser view",
    # the token pages (tokens are made and revoked by people)
    "admin:tokens": "tokens",
    "admin:province-tokens": "tokens",
}


def _handlers(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        for handler in route.route_handlers:
            if isinstance(handler, HTTPRouteHandler):
                found.append((route.path, handler.name or handler.handler_name, handler))
    return found


def _page_writes(app: Litestar) -> dict[str, str]:
    return {
        name: path
        for path, name, handler in _handlers(app)
        if not path.startswith(API_PREFIX) and handler.http_methods & UNSAFE
    }


def _page_reads(app: Litestar) -> dict[str, str]:
    """The pages (under a tenant) that only read."""
    return {
        name: path
        for path, name, handler in _handlers(app)
        if path.startswith("/t/") and handler.http_methods & {"GET"} and not handler.http_methods & UNSAFE
    }


def _api_operations(app: Litestar) -> dict[str, str]:
    """Each API operation's path as the schema writes it (`{year}`, not `{year:int}`), by name."""
    return {
        name: re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        for path, name, handler in _handlers(app)
        if path.startswith(API_PREFIX) and handler.include_in_schema
    }


def test_every_page_that_writes_has_its_api_operation_or_is_for_browsers_only(app: Litestar) -> None:
    listed = set(COUNTERPARTS) | set(BROWSER_ONLY)
    unlisted = {name: path for name, path in _page_writes(app).items() if name not in listed}
    assert unlisted == {}, "a page writes with no API operation: add one, or say here why a browser only"


def test_every_named_counterpart_is_an_operation_in_the_schema(app: Litestar) -> None:
    operations = _api_operations(app)
    named = {op for ops in COUNTERPARTS.values() for op in ((ops,) if isinstance(ops, str) else ops)}
    assert named - set(operations) == set()
    documented = set(app.openapi_schema.to_schema()["paths"])
    assert {operations[op] for op in named} - documented == set()


def test_the_lists_name_only_pages_that_write_and_do_not_overlap(app: Litestar) -> None:
    writes = _page_writes(app)
    assert set(COUNTERPARTS) - set(writes) == set()
    assert set(BROWSER_ONLY) - set(writes) == set()
    assert set(COUNTERPARTS) & set(BROWSER_ONLY) == set()


def test_the_pages_reads_that_integrations_ask_for_have_their_operations(app: Litestar) -> None:
    operations = _api_operations(app)
    # the audit log, the province admin's tenant list, the plan's documents, the external scores' grid and template,
    # the inspector's overview of one department
    reads = {"api:audit", "api:province_tenants", "api:plan_docx", "api:plan_xlsx", "external:api_grid"}
    reads |= {"external:api_template", "api:review_department"}
    assert {operations[op] for op in reads} - set(app.openapi_schema.to_schema()["paths"]) == set()


def test_every_page_that_reads_has_the_operation_of_its_data_or_says_why_not(app: Litestar) -> None:
    reads = _page_reads(app)
    listed = set(READ_COUNTERPARTS) | set(PAGE_ONLY_READS)
    assert {name: path for name, path in reads.items() if name not in listed} == {}
    assert listed - set(reads) == set()  # every name listed is a page that reads
    assert len(listed) == len(READ_COUNTERPARTS) + len(PAGE_ONLY_READS)  # and in one list only
    operations = _api_operations(app)
    assert set(READ_COUNTERPARTS.values()) - set(operations) == set()
