"""Data entry: enrol a subject, enter the casebook's forms, record adverse events and doses, correct with a reason.

Every page is rendered from the study's data dictionary (its forms' fields; the fields it adds to core forms)
and every save is one capture action, so the edit checks, the audit and the refusals are capture's. A route
parses the posted strings into the action's arguments, calls it, and shows each problem beside its field;
nothing is written when any check fails. Soft-range warnings come back with a "Confirm and save" button: the
second submit carries a confirm flag bound to a hash of the values the person saw (other values are checked
again as new).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from earlyphase.access import may, sites_for
from earlyphase.access.scope import EVERY_SITE
from earlyphase.capture import Trial
from earlyphase.capture.context import CaptureContext
from earlyphase.capture.describe import field_history, record_view, subject_records
from earlyphase.capture.forms import is_warning, shown_fields
from earlyphase.capture.reasons import REASON_CATEGORIES
from earlyphase.capture.setup import stored_study
from earlyphase.derive.roster import subject_site
from earlyphase.errors import InputError
from earlyphase.protocol.forms import CORE_FORMS, Code, FormField
from earlyphase.records.database import read_session
from earlyphase.vocab import AE_ACTIONS, AE_OUTCOMES, ATTRIBUTIONS, DEATH_CAUSES, FOLLOW_UP_STATUSES, SEXES
from earlyphase.web.kit import Kit, Refused

MAX_SEARCH = 100  # characters of a term search
MAX_MATCHES = 25


# -- the core forms a coordinator enters, as fields of the same kind a study's dictionary holds ------------
def _field(name: str, label: str, kind: str, **more: Any) -> FormField:
    return FormField(name=name, label=label, type=kind, **more)


def _codes(values) -> list[Code]:
    return [Code(code=str(v), label=str(v)) for v in values]


def administration_fields(study) -> list[FormField]:
    unit = study.product.dose_unit
    return [
        _field("number", f"{study.product.noun.capitalize()} number", "integer", required=True,
               help="1 for the first, 2 for the second..."),
        _field("actual_date", "Date given", "date", required=True),
        _field("dose", "Dose given", "decimal", unit=unit, required=True),
        _field("route", "Route", "text", max_length=40, help="Leave blank for the regimen's route."),
        _field("weight_kg", "Weight", "decimal", unit="kg"),
        _field("height_cm", "Height", "decimal", unit="cm"),
        _field("lot", "Lot / batch", "text", max_length=60),
        _field("modification_reason", "Reason the dose was modified", "text", max_length=200),
        _field("deviation", "Deviation from the plan (dose, date or route), if any", "text", max_length=500),
    ]


def adverse_event_fields(term) -> list[FormField]:
    grades = term.grades if term is not None else (1, 2, 3, 4, 5)
    return [
        _field("term_specify", "Verbatim term (for an 'Other, specify' term)", "text", max_length=200),
        _field("grade", "CTCAE grade", "choice", required=True,
               codes=[Code(code=str(g), label=f"{g}" + (f": {term.grade_text(g)}" if term is not None
                                                       and term.grade_text(g) else "")) for g in grades]),
        _field("onset", "Onset", "partial_date", required=True),
        _field("resolution", "Resolution", "partial_date", help="Blank while the event goes on."),
        _field("attribution", "Relation to the study product", "choice", required=True, codes=_codes(ATTRIBUTIONS)),
        _field("outcome", "Outcome", "choice", required=True, codes=_codes(AE_OUTCOMES)),
        _field("action", "Action taken", "choice", codes=_codes(AE_ACTIONS)),
        _field("serious", "Serious", "yesno"),
        _field("dlt", "Dose-limiting toxicity", "yesno"),
    ]


def enrolment_fields(study, sites: list[str]) -> list[FormField]:
    return [
        _field("subject_id", "Subject id", "text", required=True, max_length=40),
        _field("site", "Site", "choice", required=True, codes=[Code(code=s, label=s) for s in sites]),
        _field("sex", "Sex", "choice", required=True, codes=_codes(SEXES)),
        _field("birth_year", "Year of birth", "integer", required=True),
        _field("ecog", "ECOG performance status", "choice", required=True, codes=_codes(range(5))),
        _field("consent_date", "Date of consent", "date", required=True),
        _field("enrolment_date", "Date of enrolment", "date", help="Blank: the date of consent."),
        _field("initials", "Initials", "text", max_length=10),
        _field("hospital_number", "Hospital number", "text", max_length=40),
    ]


def allocation_fields(study) -> list[FormField]:
    return [
        _field("group", "Dose level", "choice", codes=[Code(code=g.code, label=g.label) for g in study.groups],
               help="Optional at enrolment; a level not yet open is refused with its reason."),
        _field("allocation_date", "Date of allocation", "date"),
    ]


def eligibility_fields(study) -> list[FormField]:
    return [_field(f"eligibility_{c.code.lower()}", f"{kind.capitalize()} {c.code}: {c.text}", "yesno",
                   required=True) for kind, c in study.eligibility.criteria]


def follow_up_fields(study) -> list[FormField]:
    return [_field("contact_date", "Date of contact", "date", required=True),
            _field("status", "Status at contact", "choice", required=True, codes=_codes(FOLLOW_UP_STATUSES))]


def death_fields(study) -> list[FormField]:
    return [_field("death_date", "Date of death", "date", required=True),
            _field("cause", "Cause", "text", required=True, max_length=200,
                   help=f"One of: {', '.join(DEATH_CAUSES)}; or 'other: what'.")]


def withdrawal_fields(study) -> list[FormField]:
    return [_field("withdrawal_date", "Date of withdrawal", "date", required=True),
            _field("reason", "Reason", "text", required=True, max_length=500)]


def allocation_entry_fields(study) -> list[FormField]:
    group, when = allocation_fields(study)
    return [group.model_copy(update={"required": True, "help": "A level not yet open is refused with its reason."}),
            when.model_copy(update={"required": True})]


@dataclass(frozen=True)
class CoreEntry:
    """A core form the web enters: its fields, the capture action it calls, the table its records live in
    (None: the record is the patient's own row, and the save returns to the casebook)."""

    title: str
    table: str | None
    fields: Callable[..., list[FormField]]
    action: str
    study_fields: bool = True  # the action takes the fields the study adds (``extra``) and confirmations


CORE_ENTRIES = {
    "administration": CoreEntry("Dose given", "administrations", administration_fields, "record_administration"),
    "allocation": CoreEntry("Allocate to a dose level", "allocations", allocation_entry_fields, "allocate_patient"),
    "follow_up": CoreEntry("Follow-up contact", "follow_ups", follow_up_fields, "record_follow_up"),
    "death": CoreEntry("Death", "deaths", death_fields, "record_death"),
    "withdrawal": CoreEntry("Withdrawal from treatment", None, withdrawal_fields, "withdraw_patient", False),
}
CORE_BY_TABLE = {e.table: (name, e) for name, e in CORE_ENTRIES.items() if e.table is not None}


# -- turning the posted strings into values, and problems into messages beside their fields ----------------
def posted_values(form, fields: list[FormField]) -> dict[str, Any]:
    """field -> the posted text (a list for a multiple choice); blank as None."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.type == "multiple_choice":
            items = [str(x).strip() for x in form.getlist(f.name) if str(x).strip()]
            out[f.name] = items or None
        else:
            raw = form.get(f.name)
            text = raw.strip() if isinstance(raw, str) else None
            out[f.name] = text or None
    return out


def shown_values(values: dict[str, Any]) -> dict[str, Any]:
    """Stored typed values as the form's inputs show them."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "yes" if value else "no"
        elif isinstance(value, (tuple, list)):
            out[name] = [str(v) for v in value]
        elif isinstance(value, float):
            out[name] = f"{value:g}" if abs(value) < 1e15 else repr(value)
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


@dataclass
class Outcome:
    """Problems of a refused save: by field, those naming no field, and whether all are warnings."""

    by_field: dict[str, list[str]]
    general: list[str]
    warnings_only: bool


def sort_problems(error: InputError, names: set[str], prefix: str = "") -> Outcome:
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for p in error.problems:
        name = p.field[len(prefix):] if prefix and p.field.startswith(prefix) else p.field
        if name.startswith("eligibility."):
            name = "eligibility_" + name.split(".", 1)[1].lower()
        message = p.message
        if p.rule == "unique-subject":
            # Ids are unique across sites: say only that this one cannot be used (never whose it is).
            message = "this subject id is already in use in the study: choose another"
        if name in names:
            by_field.setdefault(name, []).append(message)
        else:
            general.append(message)
    return Outcome(by_field, general, all(is_warning(p) for p in error.problems))


def values_digest(values: dict[str, Any]) -> str:
    """What a confirmation is bound to: the values the person saw the warnings for."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def confirmed(form, values: dict[str, Any]) -> bool:
    return form.get("confirm") == "1" and form.get("confirm_digest") == values_digest(values)


# -- who may do what where -------------------------------------------------------------------------------
def subject_for(kit: Kit, found, subject_id: str, action: str) -> str:
    """The site of a subject the visitor may see and take ``action`` on; another site's subject is 404."""
    site = subject_site(kit.engine, subject_id) if len(subject_id) <= 40 else None
    if site is None or site not in sites_for(found.grants, "view_subjects"):
        raise Refused(404, "There is no such subject among the sites you may see.", found)
    if not may(found.grants, action, site):
        raise Refused(403, "Your roles do not include this at this subject's site.", found)
    return site


def study_of(kit: Kit):
    return stored_study(kit.engine)[0]


def trial_for(kit: Kit, found) -> Trial:
    return Trial.open(kit.engine, found.username, today=kit.today)


async def posted(kit: Kit, request: Request, found):
    """The posted form (CSRF checked first); multi-valued fields stay lists."""
    await kit.checked_form(request, found)
    return await request.form()


def register(app: FastAPI, kit: Kit) -> None:
    page, visitor = kit.page, kit.visitor
    templates = kit.templates

    def entries_of(subject_id: str):
        with read_session(kit.engine) as session:
            ctx = CaptureContext(session=session, study=study_of(kit), username="reader", today=kit.as_of())
            return subject_records(ctx, subject_id)

    def entry_href(subject_id: str, entry) -> str | None:
        """Where a casebook row leads: the record entered, or the page that enters it."""
        if entry.record:
            table, _, number = entry.record.partition("#")
            if table in ("form_records", "adverse_events", "patients") or table in CORE_BY_TABLE:
                return f"/subjects/{subject_id}/records/{table}/{number}"
            return None
        if entry.form in CORE_ENTRIES:
            return f"/subjects/{subject_id}/core/{entry.form}"
        if entry.form in CORE_FORMS:  # a core form not entered here (the enrolment, the eligibility...)
            return None
        return f"/subjects/{subject_id}/forms/{entry.form}?visit={entry.visit}"  # a study form

    templates.env.globals["entry_href"] = entry_href
    templates.env.globals["entries_of"] = entries_of

    # -- enrolment -------------------------------------------------------------------------------------
    def enrol_sites(found) -> list[str]:
        allowed = sites_for(found.grants, "enter_data")
        codes = [s.code for s in study_of(kit).sites]
        return [c for c in codes if c in allowed] if allowed is EVERY_SITE or allowed else []

    def enrol_page(request, found, study, values, outcome=None, status=200):
        sites = enrol_sites(found)
        return page(request, "entry_enrol.html", status, visitor=found, study=study,
                    fields=enrolment_fields(study, sites), eligibility=eligibility_fields(study),
                    extension=(study.extension("enrolment").fields if study.extension("enrolment") else []),
                    allocation=allocation_fields(study), values=values, outcome=outcome,
                    digest=values_digest(values))

    @app.get("/enrol")
    def enrol_form(request: Request):
        found = visitor(request)
        if not enrol_sites(found):
            raise Refused(403, "Your roles do not include entering data at any site.", found)
        study = study_of(kit)
        return enrol_page(request, found, study, {"site": enrol_sites(found)[0], "allocation_date": None})

    @app.post("/enrol")
    async def enrol(request: Request):
        found = visitor(request)
        sites = enrol_sites(found)
        if not sites:
            raise Refused(403, "Your roles do not include entering data at any site.", found)
        form = await posted(kit, request, found)
        study = study_of(kit)
        core, criteria = enrolment_fields(study, sites), eligibility_fields(study)
        extension = study.extension("enrolment").fields if study.extension("enrolment") else []
        allocation = allocation_fields(study)
        values = posted_values(form, core + criteria + extension + allocation)
        names = {f.name for f in core + criteria + extension + allocation}
        if values.get("site") not in sites:
            outcome = Outcome({"site": [f"choose one of your sites: {', '.join(sites)}"]}, [], False)
            return enrol_page(request, found, study, values, outcome, 400)
        answers = {c.code: values[f"eligibility_{c.code.lower()}"] for _, c in study.eligibility.criteria}
        extra = {f.name: values[f.name] for f in extension if values[f.name] is not None} or None
        trial = trial_for(kit, found)
        try:
            with trial.batch() as b:
                b.enrol_patient(
                    subject_id=values["subject_id"], site=values["site"], sex=values["sex"],
                    birth_year=values["birth_year"], ecog=values["ecog"], consent_date=values["consent_date"],
                    enrolment_date=values["enrolment_date"], initials=values["initials"],
                    hospital_number=values["hospital_number"], eligibility=answers or None, extra=extra,
                    confirm_warnings=confirmed(form, values))
                if values["group"] is not None or values["allocation_date"] is not None:
                    b.allocate_patient(values["subject_id"], values["group"], values["allocation_date"])
        except InputError as error:
            return enrol_page(request, found, study, values, sort_problems(error, names), 400)
        return RedirectResponse(f"/subjects/{values['subject_id']}", status_code=303)

    # -- study forms -----------------------------------------------------------------------------------
    def form_page(request, found, study, subject_id, definition, visit, values, outcome=None, status=200,
                  record=None, history=None, hidden=frozenset()):
        fields = definition.fields
        if record is None and definition.date_field is None:
            fields = [_field("visit_date", "Visit date", "date", help="Blank: today."), *fields]
        return page(request, "entry_form.html", status, visitor=found, study=study, subject_id=subject_id,
                    title=definition.label, help=definition.help, fields=fields, visit=visit,
                    values=values, outcome=outcome, digest=values_digest(values), record=record,
                    history=history or {}, reasons=REASON_CATEGORIES, action=request.url.path
                    + (f"?visit={visit}" if visit and record is None else ""),
                    date_field=definition.date_field, repeating=definition.repeating, hidden=hidden,
                    shown_url=f"/subjects/{subject_id}/forms/{definition.name}/shown"
                    + (f"?visit={visit}" if visit else ""))

    def study_form(found, study, name: str):
        if name not in study.form_names:
            raise Refused(404, "The study has no such form.", found)
        return study.form(name)

    def visit_key(request: Request) -> str | None:
        visit = request.query_params.get("visit")
        return visit[:40] if visit else None

    @app.get("/subjects/{subject_id}/forms/{form_name}")
    def new_form(request: Request, subject_id: str, form_name: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        study = study_of(kit)
        definition = study_form(found, study, form_name)
        return form_page(request, found, study, subject_id, definition, visit_key(request), {})

    @app.post("/subjects/{subject_id}/forms/{form_name}/shown")
    async def form_shown(request: Request, subject_id: str, form_name: str):
        """With JavaScript (htmx, on load and on each change): the form's show-if fields again, those whose
        condition does not hold hidden (and disabled, so they stay blank). Nothing is saved. Without
        JavaScript every field shows, with the condition it is asked under."""
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        form = await posted(kit, request, found)
        study = study_of(kit)
        definition = study_form(found, study, form_name)
        values = posted_values(form, definition.fields)
        with read_session(kit.engine) as session:
            ctx = CaptureContext(session=session, study=study, username=found.username, today=kit.as_of())
            shown = shown_fields(ctx, subject_id, definition, values)
        hidden = {f.name for f in definition.fields} - shown
        return page(request, "entry_shown.html", visitor=found, study=study, fields=definition.fields,
                    values=values, hidden=hidden)

    @app.post("/subjects/{subject_id}/forms/{form_name}")
    async def save_form(request: Request, subject_id: str, form_name: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        form = await posted(kit, request, found)
        study = study_of(kit)
        definition = study_form(found, study, form_name)
        visit = visit_key(request)
        values = posted_values(form, definition.fields)
        raw_date = form.get("visit_date")
        visit_date = raw_date.strip() or None if isinstance(raw_date, str) else None
        seen = {**values, "visit_date": visit_date}  # what the page shows (and a confirmation is bound to)
        try:
            record = trial_for(kit, found).record_form(
                subject_id, definition.name, {k: v for k, v in values.items() if v is not None}, visit=visit,
                visit_date=visit_date, confirm_warnings=confirmed(form, seen))
        except InputError as error:
            outcome = sort_problems(error, {f.name for f in definition.fields} | {"visit_date"},
                                    f"{definition.name}.")
            return form_page(request, found, study, subject_id, definition, visit, seen, outcome, 400)
        return RedirectResponse(f"/subjects/{subject_id}/records/form_records/{record.id}?saved=1", status_code=303)

    # -- an expected form not done, and why ------------------------------------------------------------
    @app.get("/subjects/{subject_id}/not-done")
    def not_done_form(request: Request, subject_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        return not_done_page(request, found, subject_id, {}, None)

    def not_done_page(request, found, subject_id, values, outcome, status=200):
        return page(request, "entry_not_done.html", status, visitor=found, subject_id=subject_id,
                    visit=(request.query_params.get("visit") or "")[:40],
                    form_name=(request.query_params.get("form") or "")[:40], values=values, outcome=outcome)

    @app.post("/subjects/{subject_id}/not-done")
    async def not_done(request: Request, subject_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        form = await posted(kit, request, found)
        visit = (request.query_params.get("visit") or "")[:40]
        name = (request.query_params.get("form") or "")[:40]
        reason = form.get("reason") if isinstance(form.get("reason"), str) else None
        try:
            trial_for(kit, found).record_form_not_done(subject_id, visit, name, reason)
        except InputError as error:
            return not_done_page(request, found, subject_id, {"reason": reason},
                                 sort_problems(error, {"reason", "visit", "form"}), 400)
        return RedirectResponse(f"/subjects/{subject_id}", status_code=303)

    # -- core forms (doses) ----------------------------------------------------------------------------
    def core_page(request, found, study, subject_id, entry: CoreEntry, values, outcome=None, status=200):
        extension = study.extension(entry_form_name(entry))
        return page(request, "entry_form.html", status, visitor=found, study=study, subject_id=subject_id,
                    title=entry.title, help=None, fields=entry.fields(study) + (extension.fields if extension else []),
                    visit=None, values=values, outcome=outcome, digest=values_digest(values), record=None,
                    history={}, reasons=REASON_CATEGORIES, action=request.url.path, date_field=None,
                    repeating=False)

    def entry_form_name(entry: CoreEntry) -> str:
        return next(name for name, e in CORE_ENTRIES.items() if e is entry)

    def core_entry(found, name: str) -> CoreEntry:
        if name not in CORE_ENTRIES:
            raise Refused(404, "There is no such form.", found)
        return CORE_ENTRIES[name]

    @app.get("/subjects/{subject_id}/core/{name}")
    def new_core(request: Request, subject_id: str, name: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        return core_page(request, found, study_of(kit), subject_id, core_entry(found, name), {})

    @app.post("/subjects/{subject_id}/core/{name}")
    async def save_core(request: Request, subject_id: str, name: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        entry = core_entry(found, name)
        form = await posted(kit, request, found)
        study = study_of(kit)
        own = entry.fields(study)
        extension = study.extension(name)
        added = extension.fields if extension else []
        values = posted_values(form, own + added)
        extra = {f.name: values[f.name] for f in added if values[f.name] is not None}
        arguments = {f.name: values[f.name] for f in own}
        if entry.study_fields:
            arguments.update(extra=extra or None, confirm_warnings=confirmed(form, values))
        try:
            record = getattr(trial_for(kit, found), entry.action)(subject_id, **arguments)
        except InputError as error:
            outcome = sort_problems(error, {f.name for f in own + added})
            return core_page(request, found, study, subject_id, entry, values, outcome, 400)
        if entry.table is None:
            return RedirectResponse(f"/subjects/{subject_id}", status_code=303)
        return RedirectResponse(f"/subjects/{subject_id}/records/{entry.table}/{record.id}?saved=1", status_code=303)

    # -- adverse events: a CTCAE term, then only the grades it has --------------------------------------
    def term_matches(ctcae, text: str) -> list:
        wanted = " ".join(text.split()).casefold()[:MAX_SEARCH]
        if len(wanted) < 2:
            return []
        starts = [t for t in ctcae if t.term.casefold().startswith(wanted)]
        inside = [t for t in ctcae if wanted in t.term.casefold() and t not in starts]
        found = (starts + inside)[:MAX_MATCHES]
        if not found:  # synonyms and spelling: a synonym finds its CTCAE term
            found = [ctcae.get(name) for name in ctcae.suggestions(wanted, 5)]
        return [t for t in found if t is not None]

    def ae_page(request, found, study, subject_id, values, outcome=None, status=200):
        trial = trial_for(kit, found)
        query = (request.query_params.get("q") or "")[:MAX_SEARCH]
        term_text = (values.get("term") or request.query_params.get("term") or "")[:200]
        term = trial.ctcae.get(term_text) if term_text else None
        extension = study.extension("adverse_event")
        fields = adverse_event_fields(term) + (extension.fields if extension else [])
        return page(request, "entry_ae.html", status, visitor=found, study=study, subject_id=subject_id,
                    query=query, matches=term_matches(trial.ctcae, query) if query else [], term=term,
                    term_text=term_text, fields=fields, values=values, outcome=outcome,
                    digest=values_digest(values), ctcae=trial.ctcae.describe())

    @app.get("/subjects/{subject_id}/ae")
    def new_ae(request: Request, subject_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        return ae_page(request, found, study_of(kit), subject_id, {})

    @app.get("/subjects/{subject_id}/ae/terms")
    def ae_terms(request: Request, subject_id: str):
        """The type-ahead's answer: the matching terms as a fragment (htmx swaps it in under the search box)."""
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        query = (request.query_params.get("q") or "")[:MAX_SEARCH]
        trial = trial_for(kit, found)
        return page(request, "entry_terms.html", subject_id=subject_id, query=query,
                    matches=term_matches(trial.ctcae, query))

    @app.post("/subjects/{subject_id}/ae")
    async def save_ae(request: Request, subject_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "enter_data")
        form = await posted(kit, request, found)
        study = study_of(kit)
        extension = study.extension("adverse_event")
        added = extension.fields if extension else []
        trial = trial_for(kit, found)
        term_text = (form.get("term") or "").strip()[:200] if isinstance(form.get("term"), str) else ""
        term = trial.ctcae.get(term_text) if term_text else None
        own = adverse_event_fields(term)
        values = {"term": term_text or None, **posted_values(form, own + added)}
        extra = {f.name: values[f.name] for f in added if values[f.name] is not None}
        try:
            record = trial.record_adverse_event(
                subject_id, values["term"], values["grade"], values["onset"], values["attribution"],
                values["outcome"], resolution=values["resolution"], serious=values["serious"],
                action=values["action"] or "none", dlt=values["dlt"], term_specify=values["term_specify"],
                extra=extra or None, confirm_warnings=confirmed(form, values))
        except InputError as error:
            outcome = sort_problems(error, {f.name for f in own + added} | {"term"})
            return ae_page(request, found, study, subject_id, values, outcome, 400)
        return RedirectResponse(f"/subjects/{subject_id}/records/adverse_events/{record.id}?saved=1",
                                status_code=303)

    # -- a saved record: its values, a correction with a reason, each field's history --------------------
    def record_fields(study, view, term=None, found=None) -> list[FormField]:
        if view.table == "form_records":
            definition = study.form(view.form)
            own = definition.fields
            if definition.date_field is None:
                own = [_field("visit_date", "Visit date", "date"), *own]
            return own
        if view.table == "patients":
            # The enrolment: a subject moves only between sites the person enters data at.
            own, core = enrolment_fields(study, enrol_sites(found) if found else []), "enrolment"
        elif view.table in CORE_BY_TABLE:
            core, entry = CORE_BY_TABLE[view.table]
            own = entry.fields(study)
        elif view.table == "adverse_events":
            own = [_field("term", "CTCAE term", "text", required=True, max_length=200), *adverse_event_fields(term)]
            core = "adverse_event"
        else:
            return []
        extension = study.extension(core)
        return own + (extension.fields if extension else [])

    def read_record(found, study, subject_id, table, record_id):
        if not record_id.isdigit() or len(record_id) > 12:
            raise Refused(404, "There is no such record.", found)
        with read_session(kit.engine) as session:
            ctx = CaptureContext(session=session, study=study, username=found.username, today=kit.as_of())
            view = record_view(ctx, table, int(record_id))
            if view is None or view.subject_id != subject_id:
                raise Refused(404, "There is no such record.", found)
            history = field_history(session, table, view.record_id)
        return view, history

    def record_page(request, found, study, subject_id, view, history, values, outcome=None, status=200):
        term = None
        if view.table == "adverse_events":
            term = trial_for(kit, found).ctcae.get(str(values.get("term") or view.values.get("term") or ""))
        fields = record_fields(study, view, term, found)
        if not fields:
            raise Refused(404, "This kind of record is not corrected here.", found)
        title = (study.form(view.form).label if view.form else "Adverse event" if view.table == "adverse_events"
                 else "Enrolment" if view.table == "patients" else CORE_BY_TABLE[view.table][1].title)
        return page(request, "entry_form.html", status, visitor=found, study=study, subject_id=subject_id,
                    title=title, help=None, fields=fields, visit=view.visit, values=values, outcome=outcome,
                    digest=values_digest(values), record=view, history=history, reasons=REASON_CATEGORIES,
                    action=request.url.path, date_field=None, repeating=False,
                    saved=request.query_params.get("saved") == "1",
                    another=(f"/subjects/{subject_id}/forms/{view.form}" + (f"?visit={view.visit}" if view.visit else "")
                             if view.form and study.form(view.form).repeating else None),
                    may_correct=may(found.grants, "correct_data", subject_site(kit.engine, subject_id)))

    @app.get("/subjects/{subject_id}/records/{table}/{record_id}")
    def show_record(request: Request, subject_id: str, table: str, record_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "view_subjects")
        study = study_of(kit)
        view, history = read_record(found, study, subject_id, table, record_id)
        return record_page(request, found, study, subject_id, view, history, shown_values(view.values))

    @app.post("/subjects/{subject_id}/records/{table}/{record_id}")
    async def correct(request: Request, subject_id: str, table: str, record_id: str):
        found = visitor(request)
        subject_for(kit, found, subject_id, "correct_data")
        form = await posted(kit, request, found)
        study = study_of(kit)
        view, history = read_record(found, study, subject_id, table, record_id)
        trial = trial_for(kit, found)
        term = trial.ctcae.get(str(form.get("term") or "")) if table == "adverse_events" else None
        fields = record_fields(study, view, term, found)
        values = posted_values(form, fields)
        before = shown_values(view.values)
        changes = {name: value for name, value in values.items() if value != before.get(name)}
        category = form.get("reason_category") if form.get("reason_category") in REASON_CATEGORIES else None
        detail = str(form.get("reason_detail") or "").strip()
        reason = f"{category}: {detail}" if category and detail else (detail or None)
        if table == "patients" and values.get("site") not in enrol_sites(found):
            # Capture knows every site of the study; the door keeps a subject among the person's own sites.
            outcome = Outcome({"site": [f"choose one of your sites: {', '.join(enrol_sites(found))}"]}, [], False)
            return record_page(request, found, study, subject_id, view, history, values, outcome, 400)
        if not category:
            outcome = Outcome({"reason": ["choose the category of the reason for the change"]}, [], False)
            return record_page(request, found, study, subject_id, view, history, values, outcome, 400)
        try:
            trial.correct_record(table, view.record_id, changes, reason, confirm_warnings=confirmed(form, values))
        except InputError as error:
            names = {f.name for f in fields} | {"reason"}
            return record_page(request, found, study, subject_id, view, history, values,
                               sort_problems(error, names, f"{view.form}." if view.form else ""), 400)
        return RedirectResponse(f"/subjects/{subject_id}/records/{table}/{view.record_id}?saved=1",
                                status_code=303)
