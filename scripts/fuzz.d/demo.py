"""The demo county's real records, read through the API, and the few the run needs that
the demo has none of (an applicant's draft, an upload in progress, a grant to review).

Everything is read or made once, before the run (`Demo()`), by the accounts that may see
it (a set-up step the server refuses is said and skipped: the operations that needed it
then show among those without a 2xx). A record an operation consumes (a correction decided, a grant reviewed) is then
answered 409 on later calls, which is right; one 2xx is what the run asks of it.
"""

import random
import threading
import time

from api import PASSWORD, SYNC, Refused, applicant, call, everything, resident_id, sign_in, start_upload, upload_document

QINGSHAN_VILLAGE = "530123101001"
QINGSHAN_TOWNSHIP = "530123101"
HEKOU_VILLAGE = "530123102001"
CALENDAR_YEAR = 2030


class Demo:
    def __init__(self):
        self.rng = random.Random(2026)
        self.password = PASSWORD
        self.refresh_tokens = [sign_in("county_officer")["refresh_token"] for _ in range(3)]
        self.officer_session = sign_in("county_officer")
        self.officer_since = time.monotonic()
        self.lock = threading.Lock()
        officer = self.officer
        admin = sign_in("admin")["access_token"]
        self.regions = everything("/v1/regions?limit=200", officer)
        by_code = {r["code"]: r for r in self.regions}
        self.county = next(r for r in self.regions if r["level"] == "county")
        self.village = by_code[QINGSHAN_VILLAGE]
        self.township = by_code[QINGSHAN_TOWNSHIP]
        self.hekou_village = by_code.get(HEKOU_VILLAGE) or next(
            r for r in self.regions if r["level"] == "village" and r["id"] != self.village["id"])
        self.programs = call("GET", "/v1/programs")["items"]
        self.users = everything("/v1/users?limit=200", officer)
        self.user = {u["username"]: u for u in self.users}
        households = everything(f"/v1/households?region_id={self.village['id']}&limit=200", officer)
        self.households = [h["id"] for h in households]
        self.hekou_households = [h["id"] for h in everything(
            f"/v1/households?region_id={self.hekou_village['id']}&limit=50", officer)]
        self.campaigns = listed("/v1/campaigns?limit=50", officer)
        self.ledgers = call("GET", "/v1/ledgers", token=officer)
        self.applications = everything("/v1/applications?limit=200", officer)
        # Lists leave the case file out; the application itself names it.
        self.files = [f for f in (safely(lambda a=a: call("GET", f"/v1/applications/{a['id']}", token=officer)
                                         .get("case_file_id"))
                                  for a in self.applications if a["status"] == "approved") if f]
        self.material = next(
            ((a["id"], m["sha256"]) for a in self.applications for m in a.get("materials") or []), None)
        self.conflicts = [c["id"] for c in listed("/v1/sync/conflicts?limit=100", officer)
                          if c.get("state") in (None, "open")]
        self.quarantine = [(q["device_id"], q["mutation_id"])
                           for q in listed("/v1/sync/quarantine?limit=100", officer)
                           if q.get("state") in (None, "open")]
        # The village secretary reviews the photos of their village.
        self.photo_reviews = listed(f"/v1/photo-reviews?status=pending&region_id={self.village['id']}&limit=100",
                                    officer)
        self.photos = [p.get("sha256") for p in listed("/v1/photo-reviews?limit=20", officer)
                       if p.get("sha256")]
        self.records = safely(lambda: self.synced_records("qingshan_secretary")) or {}
        for entity, records in (safely(lambda: self.synced_records("school_teacher")) or {}).items():
            self.records.setdefault(entity, records)
        self.set_up(officer, admin)

    @property
    def officer(self):
        """The county officer's access token, renewed when ten minutes old (it lasts 15)."""
        with self.lock:
            if time.monotonic() - self.officer_since > 600:
                self.officer_session = call("POST", "/v1/auth/refresh",
                                            {"refresh_token": self.officer_session["refresh_token"]})
                self.officer_since = time.monotonic()
            return self.officer_session["access_token"]

    def qingshan_households(self):
        return self.households

    def waiting_corrections(self):
        """Corrections no level has decided yet: the village decides first."""
        return [r["id"] for r in self.records.get("correction", [])
                if (r.get("fields") or {}).get("review_status") in (None, "pending")]

    def open_dropout_cases(self):
        return [r["id"] for r in self.records.get("dropout_case", [])
                if (r.get("fields") or {}).get("state") != "closed"]

    def refresh_token(self):
        """A refresh token of its own for each call (each is good once); the last is reused
        once they are spent."""
        return self.refresh_tokens.pop() if len(self.refresh_tokens) > 1 else self.refresh_tokens[0]

    def synced_records(self, username):
        """Every record a phone of `username` pulls, by entity."""
        first = sign_in(username)["access_token"]
        device = call("POST", "/v1/devices", {"name": f"{username} fuzz phone", "platform": "android"},
                      token=first)["id"]
        token = sign_in(username, device)["access_token"]
        out, cursor = {}, None
        while True:
            path = "/v1/sync/pull?limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = call("GET", path, token=token, headers=SYNC)
            for change in page.get("changes") or []:
                out.setdefault(change.get("entity"), []).append(change)
            cursor = page.get("next_cursor")
            if not page.get("has_more"):
                return out

    def of(self, entity, **fields):
        """Ids of the synced records of `entity` whose fields have these values."""
        return [r["id"] for r in self.records.get(entity, [])
                if all((r.get("fields") or {}).get(k) == v for k, v in fields.items())]

    def set_up(self, officer, admin):
        # Applicants of their own, one per operation on an application, each at the stage
        # the operation needs.
        self.new_applicant = applicant("fuzz-new")
        self.new_materials = safely(lambda: [upload_document(self.new_applicant, "id_cards")])
        self.editor = applicant("fuzz-edit")
        self.draft_materials = safely(lambda: [upload_document(self.editor, "id_cards")])
        self.draft = safely(lambda: self.file_application(self.editor, [], self.draft_materials))
        self.submitter = applicant("fuzz-submit")
        self.complete = safely(lambda: self.file_application(
            self.submitter, self.checklist("worker_hardship")))
        self.reviser = applicant("fuzz-revise")
        self.returned = safely(lambda: self.returned_application(self.reviser))
        # Uploads in progress, the county officer's.
        self.uploads = [safely(lambda: start_upload(officer, 1 << 20)) for _ in range(3)]
        # A township officer's break-the-glass grant on a household of another township:
        # for the county to review and for its holder to end.
        qingshan = sign_in("qingshan_officer")["access_token"]
        self.grant = safely(lambda: call("POST", "/v1/access-grants", {
            "subject": "household", "subject_id": self.hekou_households[0],
            "reason": "核查跨乡镇重复申请", "duration_minutes": 60}, token=qingshan)["id"])
        # An account to deactivate and edit, so that no account the run signs in with is.
        self.spare_user = safely(lambda: call("POST", "/v1/users", {
            "username": "fuzz_spare_helper", "password": "a long passphrase 2026",
            "display_name": "备用帮扶人", "role": "helper", "region_id": self.village["id"]},
            token=admin)["id"])
        # The same person registered twice: once under another ID number (a likely
        # duplicate), once under the same one in another village (refused, and referred).
        safely(lambda: self.register_twice(officer))
        self.duplicates = [d["id"] for d in listed("/v1/duplicate-candidates?limit=50", officer)]
        self.referrals = [r["id"] for r in listed("/v1/registration-referrals?limit=50", officer)]
        # A holiday schedule to read back, for a year the demo's notices do not reach.
        safely(lambda: call("PUT", f"/v1/calendar/{CALENDAR_YEAR}", {
            "year": CALENDAR_YEAR, "holidays": [f"{CALENDAR_YEAR}-01-01"], "makeup_workdays": []},
            token=officer))
        # A phone of the county officer's, to revoke.
        self.device = safely(lambda: call("POST", "/v1/devices", {"name": "旧手机", "platform": "android"},
                                          token=officer)["id"])

    def register_twice(self, officer):
        """The same woman registered twice in 青山村 under two ID numbers (a likely
        duplicate), and once more by 河口乡 under the first, which it cannot see (refused
        and referred to the county)."""
        born = "1962-03-15"
        numbers = [resident_id(self.rng, born)[0] for _ in range(2)]

        def household(region, number):
            return {"region_id": region["id"], "address": "二组 7 号", "members": [
                {"name": "王桂芳", "relation": "head", "id_number": number, "birth_date": born,
                 "gender": "female"}]}
        call("POST", "/v1/households", household(self.village, numbers[0]), token=officer)
        call("POST", "/v1/households", household(self.village, numbers[1]), token=officer)
        hekou = sign_in("hekou_officer")["access_token"]
        try:
            call("POST", "/v1/households", household(self.hekou_village, numbers[0]), token=hekou)
        except Refused as e:
            if e.status != 409:
                raise

    def returned_application(self, token):
        """An application submitted and returned for correction by the village."""
        id_ = self.file_application(token, self.checklist("worker_hardship"))
        call("POST", f"/v1/applications/{id_}/submit", token=token)
        secretary = sign_in("qingshan_secretary")["access_token"]
        call("POST", f"/v1/applications/{id_}/decisions", {
            "action": "return", "correction_workdays": 10,
            "deficiencies": [{"field": "materials.diagnosis", "code": "unreadable",
                              "message": "诊断证明照片模糊，请重新拍摄上传"}]}, token=secretary)
        return id_

    def program(self, code):
        return next(p for p in self.programs if p["code"] == code)

    def checklist(self, code):
        return [item["code"] for item in self.program(code).get("checklist") or []]

    def file_application(self, token, materials, uploaded=()):
        """A draft of `worker_hardship` with these materials uploaded; answers its id."""
        number, born = resident_id(self.rng)
        body = {
            "program_id": self.program("worker_hardship")["id"], "region_id": self.village["id"],
            "form": {"address": "青山村三组 12 号", "phone": "13812345678",
                     "members": [{"name": "张秀英", "relation": "head", "id_number": number,
                                  "birth_date": born, "gender": "female"}],
                     "items": [{"category": "farming", "amount_fen": 360000, "year": 2026},
                               {"category": "illness", "amount_fen": 1200000, "year": 2026}],
                     "situations": ["illness"]},
            "materials": list(uploaded) + [upload_document(token, code) for code in materials],
        }
        return call("POST", "/v1/applications", body, token=token)["id"]


def listed(path, token):
    """Every item of a paged list, or none when the caller may not read it."""
    return safely(lambda: everything(path, token)) or []


def safely(make):
    """What `make` answers, or None when the demo refuses it (said, so that the operations
    left without a record can be told from defects)."""
    try:
        return make()
    except (Refused, LookupError, TypeError, StopIteration) as e:
        print(f"fuzz hooks: set-up: {e!r}")
        return None
