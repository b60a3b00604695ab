"""Real records for the fuzzer's requests: which record of the demo county each operation
is aimed at (path parameters, ids inside bodies, the ETag it must name), so that the
documented examples and generated bodies reach the handler's rules instead of a 404.

`FILL[label](case, demo)` rewrites the case in place just before it is sent. Ids in
bodies, the contract examples' made-up ones and generated ones alike, are replaced by real
ones; the rest of the body is left as generated, but for the few values a record's state
decides (the month next to pay, a paper the case's step allows).
"""

import itertools

from api import SYNC, Refused, call, start_upload
from demo import CALENDAR_YEAR

FILL = {}
# Body fields holding ids, and which real record each names by default.
ID_FIELDS = {
    "region_id": lambda d: d.village["id"],
    "parent_id": lambda d: d.township["id"],
    "program_id": lambda d: d.program("worker_hardship")["id"],
    "household_id": lambda d: d.households[0],
    "helper_id": lambda d: d.user["qingshan_helper"]["id"],
}


def fills(*labels):
    def register(f):
        for label in labels:
            FILL[label] = f
        return f
    return register


def path(case, **values):
    for name, value in values.items():
        if value is not None:
            case.path_parameters[name] = value


def header(case, name, value):
    if case.headers is None:
        case.headers = {}
    case.headers[name] = value


def body_ids(case, demo, **overrides):
    """Real ids in the body's id fields, nested ones too; `overrides` name other records."""
    def walk(value):
        if isinstance(value, dict):
            for key, v in value.items():
                if key in overrides:
                    value[key] = overrides[key]
                elif key in ID_FIELDS and isinstance(v, str):
                    value[key] = ID_FIELDS[key](demo)
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(case.body)


def etag(path_, token):
    """The ETag of the record at `path_`, as read now."""
    try:
        _, headers = call("GET", path_, token=token, want_headers=True)
        return headers.get("etag")
    except Refused:
        return None


def first(items):
    return items[0] if items else None


# --- Sign-in: the demo's own password, a real refresh token, a code WeChat takes.

@fills("POST /v1/auth/login")
def login(case, demo):
    if isinstance(case.body, dict):
        case.body["username"] = "hekou_helper"
        case.body["password"] = demo.password
        case.body["device_id"] = None


@fills("POST /v1/auth/refresh")
def refresh(case, demo):
    if isinstance(case.body, dict):
        case.body["refresh_token"] = demo.refresh_token()


@fills("POST /v1/auth/wechat")
def wechat(case, demo):
    if isinstance(case.body, dict):
        case.body["code"] = f"ok-fuzz-wechat-{next(COUNTER)}"


COUNTER = itertools.count()


@fills("POST /v1/auth/wechat/refresh")
def wechat_refresh(case, demo):
    """A refresh token of a WeChat sign-in of its own (each is good once)."""
    if isinstance(case.body, dict):
        code = f"ok-fuzz-wechat-{next(COUNTER)}"
        case.body["refresh_token"] = call("POST", "/v1/auth/wechat", {"code": code})["refresh_token"]


# --- Bodies that name other records.

@fills("POST /v1/aid-checks", "POST /v1/assessments", "POST /v1/households", "POST /v1/users",
       "POST /v1/regions", "POST /v1/sync/push")
def ids_only(case, demo):
    body_ids(case, demo)


@fills("POST /v1/campaigns")
def campaign(case, demo):
    body_ids(case, demo, region_id=demo.township["id"])


@fills("POST /v1/access-grants")
def grant(case, demo):
    body_ids(case, demo, subject_id=first(demo.qingshan_households()))


@fills("POST /v1/applications")
def application(case, demo):
    body_ids(case, demo, materials=demo.new_materials)


@fills("PUT /v1/applications/{id}")
def edit_application(case, demo):
    path(case, id=demo.draft)
    body_ids(case, demo, materials=demo.draft_materials)


# --- Records by id.

@fills("GET /v1/applications/{id}")
def application_get(case, demo):
    path(case, id=first([a["id"] for a in demo.applications]))


@fills("POST /v1/applications/{id}/submit")
def submit(case, demo):
    path(case, id=demo.complete)


@fills("POST /v1/applications/{id}/revise")
def revise(case, demo):
    path(case, id=demo.returned)


@fills("POST /v1/applications/{id}/decisions")
def decide(case, demo):
    path(case, id=first([a["id"] for a in demo.applications if a.get("status") == "county_review"]))


@fills("GET /v1/applications/{id}/materials/{sha256}")
def material(case, demo):
    if demo.material:
        path(case, id=demo.material[0], sha256=demo.material[1])
        case.headers and case.headers.pop("Range", None)


@fills("POST /v1/access-grants/{id}/review", "POST /v1/access-grants/{id}/revoke")
def grant_by_id(case, demo):
    path(case, id=demo.grant)


@fills("GET /v1/calendar/{year}")
def calendar(case, demo):
    path(case, year=CALENDAR_YEAR)


@fills("PUT /v1/calendar/{year}")
def calendar_put(case, demo):
    year = case.body.get("year") if isinstance(case.body, dict) else None
    path(case, year=year if isinstance(year, int) else 2027)


@fills("GET /v1/campaigns/{id}", "GET /v1/campaigns/{id}/progress")
def campaign_get(case, demo):
    path(case, id=first([c["id"] for c in demo.campaigns]))


@fills("POST /v1/campaigns/{id}/phases/{position}/complete")
def phase(case, demo):
    for c in demo.campaigns:
        current = call("GET", f"/v1/campaigns/{c['id']}", token=demo.officer)
        for n, p in enumerate(current.get("phases") or []):
            if not p.get("completed_at"):
                path(case, id=c["id"], position=p.get("position", n))
                header(case, "If-Match", etag(f"/v1/campaigns/{c['id']}", demo.officer))
                return


@fills("GET /v1/case-files/{id}", "GET /v1/case-files/{id}/disbursements",
       "POST /v1/case-files/{id}/income")
def case_file(case, demo):
    path(case, id=first(demo.files))


@fills("POST /v1/case-files/{id}/exit")
def case_file_exit(case, demo):
    path(case, id=demo.files[-1])


@fills("POST /v1/case-files/{id}/disbursements")
def pay(case, demo):
    """Living aid is paid once a month: the month after the last one paid."""
    file_id = first(demo.files)
    path(case, id=file_id)
    if isinstance(case.body, dict) and case.body.get("kind") == "living":
        paid = call("GET", f"/v1/case-files/{file_id}/disbursements", token=demo.officer)
        periods = [d["period"] for d in paid.get("items") or [] if d.get("kind") == "living"]
        if periods:
            year, month = map(int, max(periods).split("-"))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            case.body["period"] = f"{year:04d}-{month:02d}"


@fills("GET /v1/corrections/{id}")
def correction(case, demo):
    path(case, id=first(demo.of("correction")))


@fills("POST /v1/corrections/{id}/decision")
def correction_decision(case, demo):
    path(case, id=first(demo.waiting_corrections()))


@fills("POST /v1/devices/{id}/revoke")
def device(case, demo):
    path(case, id=demo.device)


@fills("GET /v1/dropout-cases/{id}/evaluation")
def dropout(case, demo):
    path(case, id=first(demo.of("dropout_case")))


# Papers of the later legal steps; the demo's open cases have not been through persuasion
# yet, so those would be out of order: such a body records a paper of no step.
LATER_STEPS = {"upward_report", "return_deadline_notice", "penalty_decision", "court_application"}


@fills("POST /v1/dropout-cases/{id}/documents")
def dropout_document(case, demo):
    path(case, id=first(demo.open_dropout_cases()))
    if isinstance(case.body, dict) and case.body.get("kind") in LATER_STEPS:
        case.body.update(kind="elsewhere_proof", issued_by="school")


@fills("POST /v1/duplicate-candidates/{id}/decision")
def duplicate(case, demo):
    path(case, id=first(demo.duplicates))


@fills("POST /v1/registration-referrals/{id}/decision")
def referral(case, demo):
    path(case, id=first(demo.referrals))


@fills("GET /v1/households/{id}")
def household(case, demo):
    path(case, id=demo.households[1])


@fills("PATCH /v1/households/{id}")
def household_patch(case, demo):
    path(case, id=demo.households[2])
    header(case, "If-Match", etag(f"/v1/households/{demo.households[2]}", demo.officer))


@fills("PUT /v1/households/{id}/helpers/{user_id}")
def assign(case, demo):
    path(case, id=demo.households[3], user_id=demo.user["hekou_helper"]["id"])


@fills("DELETE /v1/households/{id}/helpers/{user_id}")
def unassign(case, demo):
    path(case, id=demo.households[4], user_id=demo.user["qingshan_helper"]["id"])


@fills("GET /v1/ledgers/{ledger}")
def ledger(case, demo):
    names = [entry["name"] for entry in demo.ledgers.get("items", demo.ledgers)
             if isinstance(entry, dict)] if demo.ledgers else []
    path(case, ledger=first(names))


@fills("POST /v1/photo-reviews/{id}/decision")
def photo_review(case, demo):
    path(case, id=first([r["id"] for r in demo.photo_reviews]))


@fills("GET /v1/photos/{sha256}")
def photo(case, demo):
    path(case, sha256=first(demo.photos))
    case.headers and case.headers.pop("Range", None)


@fills("GET /v1/programs/{id}")
def program(case, demo):
    path(case, id=demo.programs[0]["id"])


@fills("GET /v1/regions/{id}")
def region(case, demo):
    path(case, id=demo.village["id"])


@fills("PATCH /v1/regions/{id}")
def region_patch(case, demo):
    path(case, id=demo.county["id"])
    header(case, "If-Match", etag(f"/v1/regions/{demo.county['id']}", demo.officer))


@fills("POST /v1/sync/conflicts/{id}/resolve")
def conflict(case, demo):
    path(case, id=first(demo.conflicts))


@fills("POST /v1/sync/quarantine/{device_id}/{mutation_id}/settle")
def settle(case, demo):
    if demo.quarantine:
        device_id, mutation_id = demo.quarantine[0]
        path(case, device_id=device_id, mutation_id=mutation_id)


@fills("GET /v1/sync/pull", "POST /v1/sync/digest", "POST /v1/sync/repair")
def sync(case, demo):
    for name, value in SYNC.items():
        header(case, name, value)


FILL["POST /v1/sync/push"] = lambda case, demo: (ids_only(case, demo), sync(case, demo))


@fills("GET /v1/users/{id}")
def user(case, demo):
    path(case, id=demo.user["qingshan_helper"]["id"])


@fills("PATCH /v1/users/{id}")
def user_patch(case, demo):
    path(case, id=demo.spare_user)
    header(case, "If-Match", etag(f"/v1/users/{demo.spare_user}", demo.officer))


@fills("GET /v1/uploads/{id}", "HEAD /v1/uploads/{id}", "OPTIONS /v1/uploads/{id}")
def upload(case, demo):
    path(case, id=demo.uploads[0])


@fills("DELETE /v1/uploads/{id}")
def upload_cancel(case, demo):
    path(case, id=demo.uploads[-1])


@fills("PATCH /v1/uploads/{id}")
def upload_append(case, demo):
    """The next chunk of an upload in progress; another upload when the run ended that one
    (a `DELETE` aimed at an id a list gave)."""
    try:
        now = call("GET", f"/v1/uploads/{demo.uploads[1]}", token=demo.officer)
    except Refused:
        demo.uploads[1] = start_upload(demo.officer, 1 << 20)
        now = call("GET", f"/v1/uploads/{demo.uploads[1]}", token=demo.officer)
    path(case, id=demo.uploads[1])
    header(case, "Upload-Offset", str(now.get("offset", 0)))
    case.body = b"%PDF-1.4\n"
