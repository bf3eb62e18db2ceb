"""The dose-escalation meeting: the page, the committee's decision, the investigator's seal, meeting packs.

Who: the page is for those who review escalation (investigator, safety reviewer, statistician); the
committee (safety reviewer, investigator) records a decision and freezes a meeting pack; the investigator
the decision names seals it, re-entering password and TOTP code (``access.reauthenticate``; capture checks
the proof again). The counts and the recommendation are the whole study's (the decision is the study's);
subject identifiers are shown only for the sites where the visitor may see subjects. A meeting pack holds
every site's identifiers, so it opens only for those who review escalation at every site.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from earlyphase.access import AccessDenied, may, reauthenticate, sites_for
from earlyphase.access.accounts import list_users
from earlyphase.access.roles import role_may
from earlyphase.access.scope import EVERY_SITE
from earlyphase.capture import DECISIONS, Trial, list_meeting_packs, meeting_pack
from earlyphase.errors import InputError
from earlyphase.records import read_session
from earlyphase.report.escalation import escalation_view, meeting_pack_files
from earlyphase.web.kit import Kit, Refused

# A pack's stored HTML carries its own <style> (it must print the same anywhere): it is served with a
# policy of its own that allows that style and nothing else (no script, no fetch, no frame).
PACK_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"


def register(app: FastAPI, kit: Kit) -> None:
    engine = kit.engine

    def reviewer(request: Request):
        found = kit.visitor(request)
        if not may(found.grants, "review_escalation"):
            raise Refused(403, "Your roles do not include reviewing dose escalation.", found)
        return found

    def render(request: Request, found, status: int = 200, problems=None, form=None):
        view = escalation_view(engine, kit.as_of())
        visible = sites_for(found.grants, "view_subjects")
        for row in view["in_window"]:
            if row["site"] not in visible:  # another site's patient: counted, never named
                row["subject_id"] = None
                row["site"] = None
        with read_session(engine) as session:
            packs = [{"id": p.id, "as_of": p.as_of, "by": p.created_by, "sha": p.content_sha256,
                      "decision_id": p.decision_id} for p in list_meeting_packs(session)]
        investigators = sorted(a.username for a in list_users(engine)
                               if a.active and any(role_may(g.role, "decide_escalation") for g in a.grants))
        return kit.page(request, "escalation.html", status, visitor=found, view=view, packs=packs,
                        investigators=investigators, decisions=DECISIONS, problems=problems or [], form=form or {},
                        may_record=may(found.grants, "record_escalation"),
                        may_packs=sites_for(found.grants, "review_escalation") is EVERY_SITE)

    def trial_for(found) -> Trial:
        return Trial.open(engine, found.username, today=kit.as_of())

    @app.get("/escalation")
    def escalation(request: Request):
        return render(request, reviewer(request))

    @app.post("/escalation/decisions")
    async def record_decision(request: Request):
        found = reviewer(request)
        form = await kit.checked_form(request, found)
        if not may(found.grants, "record_escalation"):
            raise Refused(403, "Only the committee (safety reviewers, investigators) records a decision.", found)
        pack = str(form.get("pack") or "").strip()
        view = escalation_view(engine, kit.as_of())
        trial = trial_for(found)
        try:
            with trial.batch() as batch:
                record = batch.record_dose_decision(
                    kit.as_of(), form.get("decision"), form.get("level") or None, form.get("rationale"),
                    form.get("decided_by"), investigator=form.get("investigator") or None,
                    recommendation=view["recommendation"].get("record") or view["recommendation"].get("none"))
                if pack:
                    batch.attach_meeting_pack(int(pack) if pack.isdigit() else pack, record.id)
        except InputError as exc:
            return render(request, found, 400, problems=[p.message for p in exc.problems], form=form)
        return RedirectResponse(f"/escalation#decision-{record.id}", status_code=303)

    @app.post("/escalation/decisions/{decision_id}/sign")
    async def sign_decision(request: Request, decision_id: int):
        found = reviewer(request)
        form = await kit.checked_form(request, found)
        try:
            proof = reauthenticate(engine, found.username, form.get("password"), form.get("code"))
            trial_for(found).sign_dose_decision(decision_id, proof)
        except AccessDenied as exc:
            return render(request, found, 403, problems=[f"Not sealed: {exc.problems[0].message}."])
        except InputError as exc:
            return render(request, found, 400, problems=[p.message for p in exc.problems])
        return RedirectResponse(f"/escalation#decision-{decision_id}", status_code=303)

    def pack_reader(request: Request):
        found = reviewer(request)
        if sites_for(found.grants, "review_escalation") is not EVERY_SITE:
            raise Refused(403, "A meeting pack names every site's patients: it opens for those who review "
                               "escalation at every site.", found)
        return found

    @app.post("/escalation/packs")
    async def freeze_pack(request: Request):
        found = pack_reader(request)
        await kit.checked_form(request, found)
        if not may(found.grants, "record_escalation"):
            raise Refused(403, "Only the committee (safety reviewers, investigators) freezes a meeting pack.", found)
        files = meeting_pack_files(escalation_view(engine, kit.as_of()))
        try:
            record = trial_for(found).freeze_meeting_pack(kit.as_of(), files.content, files.content_sha256,
                                                          files.html, files.pdf)
        except InputError as exc:
            return render(request, found, 400, problems=[p.message for p in exc.problems])
        return RedirectResponse(f"/escalation#pack-{record.id}", status_code=303)

    def stored(request: Request, pack_id: int):
        found = pack_reader(request)
        with read_session(engine) as session:
            pack = meeting_pack(session, pack_id) if 0 < pack_id < 2**31 else None
        if pack is None:
            raise Refused(404, "There is no such meeting pack.", found)
        if not pack.intact:
            raise Refused(409, f"Meeting pack {pack_id} no longer matches its SHA-256: it was changed outside "
                               "the application.", found)
        return pack

    @app.get("/escalation/packs/{pack_id}.html")
    def pack_html(request: Request, pack_id: int):
        pack = stored(request, pack_id)
        return Response(pack.html.encode("utf-8"), media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PACK_POLICY, "X-Content-SHA256": pack.content_sha256})

    @app.get("/escalation/packs/{pack_id}.pdf")
    def pack_pdf(request: Request, pack_id: int):
        pack = stored(request, pack_id)
        if pack.pdf is None:
            raise Refused(404, f"Meeting pack {pack_id} was frozen without a PDF.")
        name = f"meeting-pack-{pack_id}-{pack.as_of}.pdf"
        return Response(pack.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "X-Content-SHA256": pack.content_sha256})
