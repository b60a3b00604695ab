"""A small client of the running bangfu, for the fuzzer's hooks: they sign in, read real
records of the demo county and set up the few records the run needs, through the API as
any client would. Nothing here is recorded as the fuzzer's own answers.
"""

import hashlib
import json
import os
import random
import urllib.error
import urllib.request
from datetime import date, timedelta

BASE = os.environ["BANGFU_FUZZ_BASE"]
PASSWORD = os.environ["BANGFU_FUZZ_PASSWORD"]
SYNC = {"Bangfu-Sync-Protocol": "1"}


class Refused(Exception):
    def __init__(self, method, path, status, body):
        super().__init__(f"{method} {path}: {status} {body}")
        self.status = status
        self.body = body


def call(method, path, body=None, token=None, headers=None, data=None, want_headers=False):
    """Sends one request; answers the decoded JSON (and the headers if asked), or raises
    `Refused` with the status."""
    h = {"accept-language": "en"}
    if body is not None:
        h["content-type"] = "application/json"
        data = json.dumps(body).encode()
    if token:
        h["authorization"] = f"Bearer {token}"
    h.update(headers or {})
    request = urllib.request.Request(BASE + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
            decoded = json.loads(raw) if raw and "json" in answer.headers.get("content-type", "") else None
            return (decoded, answer.headers) if want_headers else decoded
    except urllib.error.HTTPError as e:
        raise Refused(method, path, e.code, e.read().decode(errors="replace")) from None


def sign_in(username, device_id=None):
    body = {"username": username, "password": PASSWORD}
    if device_id:
        body["device_id"] = device_id
    return call("POST", "/v1/auth/login", body)


def applicant(name):
    """An applicant's session, signed in through the stand-in WeChat (scripts/fuzz.d/wechat.py)."""
    return call("POST", "/v1/auth/wechat", {"code": f"ok-{name}"})["access_token"]


def everything(path, token, key="items"):
    """Every item of a paged list."""
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = call("GET", path + (f"{sep}cursor={cursor}" if cursor else ""), token=token)
        items += page.get(key) or []
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def resident_id(rng, born=None):
    """A valid resident ID number (GB 11643) of a woman born on `born` (by default a day
    between 1940 and 2000), with her birth date."""
    born = date.fromisoformat(born) if born else date(1940, 1, 1) + timedelta(days=rng.randrange(22000))
    seq = rng.randrange(0, 999, 2)
    first = f"530123{born:%Y%m%d}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(first, weights)) % 11]
    return first + check, born.isoformat()


def upload_document(token, code):
    """Uploads a small PDF as the caller, the tus way; answers the material naming it."""
    data = f"%PDF-1.4\n% {code} {random.random()}\n%%EOF\n".encode()
    digest = hashlib.sha256(data).hexdigest()
    made = call("POST", "/v1/uploads", {"sha256": digest, "size": len(data), "kind": "document",
                                        "file_name": f"{code}.pdf"}, token=token)
    call("PATCH", f"/v1/uploads/{made['id']}", token=token, data=data,
         headers={"content-type": "application/offset+octet-stream", "upload-offset": "0",
                  "tus-resumable": "1.0.0"})
    return {"code": code, "sha256": digest, "file_name": f"{code}.pdf"}


def start_upload(token, size=16):
    """An upload begun and not finished, for the operations on an upload in progress."""
    digest = hashlib.sha256(os.urandom(size)).hexdigest()
    made = call("POST", "/v1/uploads", {"sha256": digest, "size": size, "kind": "document",
                                        "file_name": "scan.pdf"}, token=token)
    return made["id"]
