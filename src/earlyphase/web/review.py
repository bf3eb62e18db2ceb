"""Cleaning and sign-off pages: the open-query list, a subject's review page (forms with verification flags,
locks and signatures), a record's query page (``.../records/TABLE/ID/queries``: its fields, a query thread per field; the record's
correction page beside it belongs to the entry pages), and the POSTs that raise, answer,
close and reopen queries, verify, lock, unlock and sign. Each route asks ``access`` and calls one capture
function; capture refuses what the roles or a lock forbid and the page shows its message.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from earlyphase.access import AccessDenied, may, reauthenticate, sites_for
from earlyphase.access.scope import EVERY_SITE
from earlyphase.capture import CORRECTABLE, MEANINGS, Trial
from earlyphase.capture.locks import locks_in_force
from earlyphase.capture.queries import QUERY_STATUSES, query_history, query_list
from earlyphase.capture.sign_off import record_fields_shown, subject_review
from earlyphase.derive.roster import subject_site
from earlyphase.errors import InputError
from earlyphase.records.database import read_session
from earlyphase.records.tables import DataQuery
from earlyphase.web.kit import Kit, Refused

NO_SUBJECT = "There is no such subject among the sites you may see."


def register(app: FastAPI, kit: Kit) -> None:
    engine = kit.engine

    def site_or_404(found, subject_id: str, action: str = "view_subjects") -> str:
        site = subject_site(engine, subject_id) if len(subject_id) <= 40 else None
        # Another site's subject answers exactly as one that does not exist.
        if site is None or site not in sites_for(found.grants, action):
            raise Refused(404, NO_SUBJECT, found)
        return site

    def trial(found) -> Trial:
        return Trial.open(engine, found.username, today=kit.today)

    def problems(error: InputError) -> list[str]:
        return [p.message for p in error.problems]

    def review_page(request, found, subject_id: str, site: str, status: int = 200, errors=None, done=None):
        with read_session(engine) as session:
            review = subject_review(session, subject_id, site, kit.as_of())
        return kit.page(request, "review_subject.html", status, visitor=found, review=review, meanings=MEANINGS,
                        errors=errors or [], done=done, may=lambda action: may(found.grants, action, site))

    @app.get("/queries")
    def queries(request: Request, status: str = "unresolved", site: str = "", min_age: str = ""):
        found = kit.visitor(request)
        sites = sites_for(found.grants, "view_queries")
        if sites is not EVERY_SITE and not sites:
            raise Refused(403, "Your roles do not include reading queries at any site.", found)
        chosen_status = status if status in QUERY_STATUSES or status == "unresolved" else None
        age = int(min_age) if min_age.isdigit() and len(min_age) < 6 else None
        with read_session(engine) as session:
            rows = query_list(session, sites, kit.as_of(), status=chosen_status, site=site or None, min_age=age)
        shown = "every site" if sites is EVERY_SITE else ", ".join(sorted(sites))
        return kit.page(request, "review_queries.html", visitor=found, rows=rows, chosen=chosen_status or "",
                        site=site if len(site) <= 20 else "", min_age=age, statuses=("unresolved",) + QUERY_STATUSES, shown=shown)

    @app.get("/subjects/{subject_id}/review")
    def review(request: Request, subject_id: str):
        found = kit.visitor(request)
        site = site_or_404(found, subject_id)
        return review_page(request, found, subject_id, site)

    def record_page(request, found, subject_id: str, site: str, table: str, record_id: int, status: int = 200,
                    errors=None):
        spec = CORRECTABLE.get(table)
        with read_session(engine) as session:
            record = session.get(spec.model, record_id) if spec is not None and 0 < record_id < 2**31 else None
            review = subject_review(session, subject_id, site, kit.as_of())
            owned = review is not None and any((table, record_id) in f.records for f in review.forms)
            if record is None or not owned:
                raise Refused(404, "There is no such record of this subject.", found)
            fields = record_fields_shown(session, table, record)
            threads = [(q, query_history(session, q.id))
                       for q in query_list(session, {site}, kit.as_of(), table=table, record_id=record_id)]
        return kit.page(request, "review_record.html", status, visitor=found, subject_id=subject_id, table=table,
                        record_id=record_id, fields=fields, threads=threads, errors=errors or [],
                        may=lambda action: may(found.grants, action, site))

    @app.get("/subjects/{subject_id}/records/{table}/{record_id}/queries")
    def record(request: Request, subject_id: str, table: str, record_id: int):
        found = kit.visitor(request)
        site = site_or_404(found, subject_id)
        return record_page(request, found, subject_id, site, table, record_id)

    @app.post("/subjects/{subject_id}/records/{table}/{record_id}/queries")
    async def raise_query(request: Request, subject_id: str, table: str, record_id: int):
        found = kit.visitor(request)
        form = await kit.checked_form(request, found)
        site = site_or_404(found, subject_id)
        if not may(found.grants, "raise_query", site):
            raise Refused(403, "Your roles do not include raising queries at this site.", found)
        record_page(request, found, subject_id, site, table, record_id)  # 404 for a record not the subject's
        try:
            trial(found).raise_query(table, record_id, form.get("text"), field=form.get("field") or None)
        except InputError as error:
            return record_page(request, found, subject_id, site, table, record_id, 400, problems(error))
        return RedirectResponse(f"/subjects/{subject_id}/records/{table}/{record_id}/queries", status_code=303)

    def query_or_404(found, query_id: int, action: str):
        with read_session(engine) as session:
            query = session.get(DataQuery, query_id) if 0 < query_id < 2**31 else None
            rows = query_list(session, sites_for(found.grants, "view_queries"), kit.as_of(),
                              table=query.table_name, record_id=query.record_id) if query is not None else []
        view = next((q for q in rows if q.id == query_id), None)
        if view is None:
            raise Refused(404, "There is no such query among the sites you may see.", found)
        if not may(found.grants, action, view.site):
            raise Refused(403, f"Your roles do not include this step ({action.replace('_', ' ')}) at this site.",
                          found)
        return view

    async def query_step(request: Request, query_id: int, action: str, call):
        found = kit.visitor(request)
        form = await kit.checked_form(request, found)
        view = query_or_404(found, query_id, action)
        try:
            call(trial(found), form)
        except InputError as error:
            return record_page(request, found, view.subject_id, view.site, view.table_name, view.record_id, 400,
                               problems(error))
        return RedirectResponse(f"/subjects/{view.subject_id}/records/{view.table_name}/{view.record_id}/queries",
                                status_code=303)

    @app.post("/queries/{query_id}/answer")
    async def answer(request: Request, query_id: int):
        return await query_step(request, query_id, "answer_query", lambda t, f: t.answer_query(query_id, f.get("answer")))

    @app.post("/queries/{query_id}/close")
    async def close(request: Request, query_id: int):
        return await query_step(request, query_id, "close_query",
                                lambda t, f: t.close_query(query_id, reason=f.get("reason") or None))

    @app.post("/queries/{query_id}/reopen")
    async def reopen(request: Request, query_id: int):
        return await query_step(request, query_id, "close_query", lambda t, f: t.reopen_query(query_id, f.get("reason")))

    async def subject_step(request: Request, subject_id: str, action: str, what: str, call):
        found = kit.visitor(request)
        form = await kit.checked_form(request, found)
        site = site_or_404(found, subject_id)
        if not may(found.grants, action, site):
            raise Refused(403, f"Your roles do not include {what} at this site.", found)
        try:
            done = call(found, form)
        except InputError as error:
            return review_page(request, found, subject_id, site, 400, problems(error))
        return review_page(request, found, subject_id, site, done=done)

    def scope_of(form: dict[str, Any]) -> dict[str, Any]:
        return {"form": form.get("form") or None, "visit": form.get("visit") or None}

    @app.post("/subjects/{subject_id}/verify")
    async def verify(request: Request, subject_id: str):
        def call(found, form):
            trial(found).verify_source(subject_id, form.get("form"), visit=form.get("visit") or None,
                                       field=form.get("field") or None)
            return f"{form.get('form')} verified against the source."
        return await subject_step(request, subject_id, "verify_source", "source-data verification", call)

    @app.post("/subjects/{subject_id}/lock")
    async def lock(request: Request, subject_id: str):
        def call(found, form):
            scope = "form" if form.get("form") else "subject"
            made = trial(found).lock_data(scope, form.get("reason"), subject_id=subject_id, **(
                scope_of(form) if scope == "form" else {}))
            return f"Locked ({made.scope}, lock {made.id})."
        return await subject_step(request, subject_id, "lock", "locking", call)

    @app.post("/subjects/{subject_id}/unlock")
    async def unlock(request: Request, subject_id: str):
        def call(found, form):
            number = str(form.get("lock_id") or "")
            with read_session(engine) as session:
                review = subject_review(session, subject_id, site_or_404(found, subject_id), kit.as_of())
            if not number.isdigit() or int(number) not in review.lock_texts:
                raise InputError.single("lock_id", number[:20], "lock-known", "there is no such lock on this subject")
            trial(found).unlock_data(int(number), form.get("reason"))
            return f"Lock {number} ended."
        return await subject_step(request, subject_id, "lock", "unlocking", call)

    @app.post("/subjects/{subject_id}/sign")
    async def sign(request: Request, subject_id: str):
        def call(found, form):
            try:
                proof = reauthenticate(engine, found.username, form.get("password"), form.get("code") or None)
            except AccessDenied as denied:
                raise InputError(denied.problems) from None
            made = trial(found).sign_records(proof, subject_id, form.get("meaning"), **scope_of(form))
            return f"Signed ({made.scope}: {made.meaning})."
        return await subject_step(request, subject_id, "sign", "signing", call)

    @app.get("/locks")
    def locks(request: Request):
        return page_of_locks(request, kit.visitor(request))

    def page_of_locks(request, found, status: int = 200, errors=None, done=None):
        sites = sites_for(found.grants, "lock")
        if sites is not EVERY_SITE and not sites:
            raise Refused(403, "Only a data manager sees and sets locks.", found)
        with read_session(engine) as session:
            rows = locks_in_force(session, sites)
        return kit.page(request, "review_locks.html", status, visitor=found, rows=rows, errors=errors or [],
                        done=done, every_site=sites is EVERY_SITE)

    @app.post("/locks")
    async def database_lock(request: Request):
        found = kit.visitor(request)
        form = await kit.checked_form(request, found)
        page_of_locks(request, found)  # 403 for anyone who sets no lock
        try:
            if form.get("lock_id"):
                number = str(form.get("lock_id"))
                with read_session(engine) as session:
                    shown = {lock.id for lock, _, _ in locks_in_force(session, sites_for(found.grants, "lock"))}
                if not number.isdigit() or int(number) not in shown:
                    raise InputError.single("lock_id", number[:20], "lock-known", "there is no such lock in force")
                trial(found).unlock_data(int(number), form.get("reason"))
                done = f"Lock {number} ended."
            else:
                made = trial(found).lock_data("database", form.get("reason"))
                done = f"The database is locked (lock {made.id})."
        except InputError as error:
            return page_of_locks(request, found, 400, problems(error))
        return page_of_locks(request, found, done=done)
