"""Schemathesis hooks for bangfu: how the fuzzer signs in, and the tus upload body.

Each operation is called by a demo account whose role has the permission the contract
names for it (`x-bangfu-permission`; `GET /v1/me` lists a role's permissions), the county
officer where it has it, so that the fuzzer reaches the handlers rather than the 403.
Signing out ends the session it is called with, so `POST /v1/auth/logout` gets throwaway
sessions of its own, all made before the run (sign-ins later could meet the per-address
limit the fuzzer's own failed sign-ins set off). Tokens are renewed with their refresh
tokens when ten minutes old or refused, so long runs outlive the 15-minute access token.
Operations only an applicant may call (security `applicant` alone) are called by an
applicant signed in with WeChat (the stand-in scripts/fuzz.d/wechat.py), signed in afresh
each time the token is renewed.
"""

import json
import os
import threading
import urllib.request

import schemathesis

BASE = os.environ["BANGFU_FUZZ_BASE"]
PASSWORD = os.environ["BANGFU_FUZZ_PASSWORD"]
# The county officer first: the account most operations are called by.
ACCOUNTS = ["county_officer", "admin", "auditor", "qingshan_officer", "qingshan_secretary", "qingshan_helper"]
LOGOUT = "POST /v1/auth/logout"
APPLICANT = "applicant"


def call(path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def sign_in(username):
    return call("/v1/auth/login", {"username": username, "password": PASSWORD})


class Sessions:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {name: sign_in(name) for name in ACCOUNTS}
        self.permissions = {
            name: set(call("/v1/me", token=s["access_token"])["permissions"])
            for name, s in self.sessions.items()
        }
        contract = call("/openapi.json")
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
        self.throwaway = [sign_in("county_officer")["access_token"] for _ in range(5)]

    def account_for(self, label):
        need = self.needs.get(label)
        for name in ACCOUNTS:
            if need in (None, "signed_in") or need in self.permissions[name]:
                return name
        return ACCOUNTS[0]

    def token(self, name):
        if name == APPLICANT:
            return call("/v1/auth/wechat", {"code": "ok-fuzz"})["access_token"]
        with self.lock:
            old = self.sessions[name]["refresh_token"]
            self.sessions[name] = call("/v1/auth/refresh", {"refresh_token": old})
            return self.sessions[name]["access_token"]

    def logout_token(self):
        with self.lock:
            # Once the throwaways are spent, sign-outs present an ended session (401).
            return self.throwaway.pop() if len(self.throwaway) > 1 else self.throwaway[0]


SESSIONS = Sessions()


def account_key(case, ctx):
    label = case.operation.label
    if label == LOGOUT:
        return LOGOUT
    if label in SESSIONS.applicant_only:
        return APPLICANT
    return SESSIONS.account_for(label)


@schemathesis.auth(refresh_interval=600, cache_by_key=account_key)
class DemoAccounts:
    def get(self, case, ctx):
        key = account_key(case, ctx)
        return SESSIONS.logout_token() if key == LOGOUT else SESSIONS.token(key)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# tus chunks (`PATCH /v1/uploads/{id}`) are raw bytes, like any octet stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
