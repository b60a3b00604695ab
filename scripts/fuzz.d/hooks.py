"""Schemathesis hooks for bangfu: who the fuzzer is, which real records it aims at, and the
record of every answer it gets.

Each operation is called by a demo account whose role has the permission the contract
names for it (`x-bangfu-permission`; `GET /v1/me` lists a role's permissions), the county
officer where it has it, so that the fuzzer reaches the handlers rather than the 403; a few
operations by the account their rule wants (a break-the-glass grant is asked by a township
officer, about another township; sync runs on a helper's registered phone). Signing out
ends the session it is called with, so `POST /v1/auth/logout` gets throwaway sessions of
its own, all made before the run (sign-ins later could meet the per-address limit the
fuzzer's own failed sign-ins set off). Tokens are renewed with their refresh tokens when
ten minutes old or refused, so long runs outlive the 15-minute access token. Operations
only an applicant may call (security `applicant` alone) are called by applicants signed
in with WeChat (the stand-in scripts/fuzz.d/wechat.py), one per operation, each with the
application at the stage the operation needs (scripts/fuzz.d/demo.py).

Before each request, three in four are aimed at real records of the demo county
(scripts/fuzz.d/fill.py); the fourth keeps what was generated (unknown ids and all). In
the stateful phase, the operations links lead to keep the ids the links gave them.
"""

import collections
import os
import threading

import schemathesis

from api import Refused, call, sign_in
from demo import Demo
from fill import FILL

# The county officer first: the account most operations are called by.
ACCOUNTS = ["county_officer", "admin", "auditor", "qingshan_officer", "qingshan_secretary", "qingshan_helper"]
PHONE = "phone:qingshan_helper"
LOGOUT = "POST /v1/auth/logout"
# Operations called by another account than the first with the permission.
CALLED_BY = {
    "POST /v1/access-grants": "hekou_officer",
    "POST /v1/access-grants/{id}/revoke": "qingshan_officer",
    "GET /v1/sync/pull": PHONE,
    "POST /v1/sync/push": PHONE,
    "POST /v1/sync/digest": PHONE,
    "POST /v1/sync/repair": PHONE,
    "GET /v1/case-number-blocks": PHONE,
    "POST /v1/case-number-blocks": PHONE,
    "POST /v1/corrections/{id}/decision": "qingshan_secretary",
    "POST /v1/dropout-cases/{id}/documents": "qingshan_officer",
    "POST /v1/applications": "applicant:fuzz-new",
    "PUT /v1/applications/{id}": "applicant:fuzz-edit",
    "POST /v1/applications/{id}/submit": "applicant:fuzz-submit",
    "POST /v1/applications/{id}/revise": "applicant:fuzz-revise",
}


class Sessions:
    def __init__(self):
        self.lock = threading.Lock()
        names = ACCOUNTS + ["hekou_officer"]
        self.sessions = {name: sign_in(name) for name in names}
        self.permissions = {
            name: set(call("GET", "/v1/me", token=s["access_token"])["permissions"])
            for name, s in self.sessions.items()
        }
        self.phones = set()
        self.sessions[PHONE] = self.phone_session()
        contract = call("GET", "/openapi.json")
        self.needs = {
            f"{method.upper()} {path}": op.get("x-bangfu-permission")
            for path, item in contract["paths"].items()
            for method, op in item.items()
        }
        self.applicant_only = {
            f"{method.upper()} {path}"
            for path, item in contract["paths"].items()
            for method, op in item.items()
            if [list(s) for s in op.get("security") or []] == [["applicant"]]
        }
        # The operations links lead to: in the stateful phase their ids come from the link.
        ids = {op.get("operationId"): f"{method.upper()} {path}"
               for path, item in contract["paths"].items() for method, op in item.items()}
        self.linked = {
            ids.get(link.get("operationId"))
            for item in contract["paths"].values() for op in item.values()
            for answer in (op.get("responses") or {}).values()
            for link in (answer.get("links") or {}).values()
        }
        self.throwaway = [sign_in("county_officer")["access_token"] for _ in range(5)]

    def phone_session(self):
        """A session of the helper on a phone registered for it."""
        first = sign_in("qingshan_helper")["access_token"]
        phone = call("POST", "/v1/devices", {"name": "fuzz phone", "platform": "android"}, token=first)
        self.phones.add(phone["id"])
        return sign_in("qingshan_helper", phone["id"])

    def account_for(self, label):
        if label in CALLED_BY:
            return CALLED_BY[label]
        if label in self.applicant_only:
            return "applicant:fuzz"
        need = self.needs.get(label)
        for name in ACCOUNTS:
            if need in (None, "signed_in") or need in self.permissions[name]:
                return name
        return ACCOUNTS[0]

    def token(self, name):
        if name.startswith("applicant:"):
            return call("POST", "/v1/auth/wechat", {"code": "ok-" + name.split(":", 1)[1]})["access_token"]
        with self.lock:
            old = self.sessions[name]["refresh_token"]
            try:
                self.sessions[name] = call("POST", "/v1/auth/refresh", {"refresh_token": old})
            except Refused:
                # Ended by what the run itself did (a phone revoked through an id another
                # answer listed): sign in again.
                self.sessions[name] = self.phone_session() if name == PHONE else sign_in(name)
            return self.sessions[name]["access_token"]

    def logout_token(self):
        with self.lock:
            # Once the throwaways are spent, sign-outs present an ended session (401).
            return self.throwaway.pop() if len(self.throwaway) > 1 else self.throwaway[0]


SESSIONS = Sessions()
DEMO = Demo()


def account_key(case, ctx):
    label = case.operation.label
    return LOGOUT if label == LOGOUT else SESSIONS.account_for(label)


@schemathesis.auth(refresh_interval=600, cache_by_key=account_key)
class DemoAccounts:
    def get(self, case, ctx):
        key = account_key(case, ctx)
        return SESSIONS.logout_token() if key == LOGOUT else SESSIONS.token(key)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


SENT = collections.Counter()
SENT_LOCK = threading.Lock()


REVOKE = "POST /v1/devices/{id}/revoke"


@schemathesis.hook
def before_call(ctx, case, kwargs):
    label = case.operation.label
    # The run's own phone stays registered: an id of it, read from a list, names another.
    if label == REVOKE and case.path_parameters.get("id") in SESSIONS.phones:
        case.path_parameters["id"] = DEMO.device
    fill = FILL.get(label)
    if fill is None:
        return
    meta = case.meta
    if meta is not None and meta.phase.name == "stateful" and label in SESSIONS.linked:
        return
    with SENT_LOCK:
        SENT[label] += 1
        n = SENT[label]
    if n % 4 != 0:
        try:
            fill(case, DEMO)
        except Exception as e:  # a record the demo lacks: the case goes as generated
            print(f"fuzz hooks: {label}: {e!r}")


# Every answer schemathesis receives, as `METHOD /template status`, for the tally of which
# operations were reached with a 2xx (scripts/fuzz.d/coverage.py).
ANSWERS = os.environ.get("BANGFU_FUZZ_ANSWERS")
ANSWERS_LOCK = threading.Lock()


@schemathesis.hook
def after_call(ctx, case, response):
    if ANSWERS:
        line = f"{case.operation.label} {response.status_code}\n"
        with ANSWERS_LOCK, open(ANSWERS, "a") as f:
            f.write(line)


# tus chunks (`PATCH /v1/uploads/{id}`) are raw bytes, like any octet stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
