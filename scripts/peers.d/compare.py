"""Peer comparison: bangfu, pouchdb-server and PocketBase on the same machine, the same
10,000 visit records and the same photos, in interleaved rounds (A, B, C, A, B, C, ...).

Run through scripts/peers, which installs the peers and passes their paths. Each round
starts every system on a fresh data folder, signs in, then measures three phases:

  push    the records in batches of 500 through each system's bulk API
          (bangfu POST /v1/sync/push; pouchdb POST /db/_bulk_docs; PocketBase POST /api/batch)
  pull    everything, in pages of 1,000
          (bangfu GET /v1/sync/pull; pouchdb GET /db/_changes?include_docs=true;
           PocketBase GET /api/collections/visits/records?perPage=1000&skipTotal=1)
  photos  one photo a request
          (bangfu POST /v1/uploads with the body, tus creation-with-upload; pouchdb PUT of an
           attachment on a new doc; PocketBase multipart create into a collection with a
           file field)

For each phase: wall-clock from the first request to the last answer, and the server's
CPU-seconds (utime+stime of the server process and its descendants, from /proc) from the
first request until the server is quiet again, so work a server leaves for later (bangfu's
field-work projector, its resized copies; leveldb's compactions) is counted. The client's
own CPU time is reported too, to show it is not the limit. The same client (one Python
process, one keep-alive connection, one request at a time, request bodies built before the
clock starts, JSON by orjson) drives all three.
"""

import argparse
import base64
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import orjson

BATCH = 500
PAGE = 1000
DEMO_PASSWORD = "bangfu-demo-2026"
CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes and /proc


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tree_cpu(root):
    """CPU-seconds (user + system) of `root` and every live descendant, plus the reaped
    children's (cutime + cstime)."""
    parent, ticks = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(name)
        parent[pid] = int(fields[1])
        ticks[pid] = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, [root]
    seen = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += ticks.get(p, 0)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return total / CLK


def settle(pid, window, limit=40.0):
    """Waits until the server used less than 0.02 CPU-s over `window` seconds (at most
    `limit` seconds); returns its CPU-seconds then."""
    deadline = time.monotonic() + limit
    last = tree_cpu(pid)
    while True:
        time.sleep(window)
        now = tree_cpu(pid)
        if now - last < 0.02 or time.monotonic() > deadline:
            return now
        last = now


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Server:
    """A server process on a fresh data folder; stopped and its folder removed on close."""

    def __init__(self, argv, env=None, cwd=None, ready=None):
        self.dir = tempfile.mkdtemp(prefix="peers-", dir=os.environ.get("PEERS_TMP", "/tmp"))
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        argv = [a.format(dir=self.dir, port=self.port) for a in argv]
        full_env = dict(os.environ)
        for k, v in (env or {}).items():
            full_env[k] = v.format(dir=self.dir, port=self.port)
        self.argv = argv
        self.cwd = cwd.format(dir=self.dir) if cwd else None
        self.env = full_env
        self.ready = ready
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        for _ in range(300):
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.argv[0]} exited with {self.proc.returncode}; log in {self.dir}/server.log")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", self.ready)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.argv[0]} did not become ready")

    @property
    def pid(self):
        return self.proc.pid

    def close(self, keep=False):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.log.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Http:
    """One keep-alive connection; every answer is read whole."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = {}

    def call(self, method, path, body=None, headers=None, expect=(200, 201)):
        h = dict(self.headers)
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = orjson.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed the idle keep-alive connection (actix does after 5 s) before
            # this request reached it: open another, as any HTTP client does.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
        data = r.read()
        if expect and r.status not in expect:
            raise SystemExit(f"{method} {path}: {r.status} {data[:500]!r}")
        return r.status, data

    def json(self, method, path, body=None, headers=None, expect=(200, 201)):
        return orjson.loads(self.call(method, path, body, headers, expect)[1])


# ---------------------------------------------------------------- the data


def uuid7(rng, millis):
    """A UUIDv7 string (bangfu's ids are UUIDv7) from a seeded generator."""
    rand = rng.getrandbits(74)
    n = (millis & ((1 << 48) - 1)) << 80
    n |= 0x7 << 76
    n |= (rand >> 62) << 64  # 12 bits rand_a
    n |= 0b10 << 62
    n |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=n))


def make_records(n, seed=20261202):
    """`n` visits: id, hlc, and the fields of about 300 bytes of JSON. The region, household
    and helper ids here are placeholders of the same form; bangfu's pushes use its own."""
    rng = random.Random(seed)
    millis = int(time.time() * 1000)
    region, helper = uuid7(rng, millis), uuid7(rng, millis)
    households = [uuid7(rng, millis) for _ in range(50)]
    out = []
    for i in range(n):
        out.append({
            "id": uuid7(rng, millis + i),
            "hlc": f"{millis + i:018}-00000-bench",
            "fields": {
                "region_id": region, "household_id": households[i % 50], "helper_id": helper,
                "kind": "routine", "visited_at": "2026-11-20T09:30:00Z",
                "basic_needs": {"food": "met", "safe_housing": "not_met"},
                "notes": f"走访记录 {i}：房屋需维修",
            },
        })
    return out


def make_photos(n, seed=7):
    """`n` different JPEGs of noise, 200-320 px square, quality 95 without chroma
    subsampling (95-240 KiB), fixed seed."""
    from PIL import Image

    rng = random.Random(seed)
    photos = []
    for i in range(n):
        side = 200 + (i * 37) % 121
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95, subsampling=0)
        photos.append(buf.getvalue())
    return photos


def resident_id(n):
    """A valid GB 11643 resident ID number for a man, the `n`th of the bench."""
    day = time.gmtime(-946771200 + n * 86400 * 37)  # from 1940-01-01
    seq = (2 * n + 1) % 1000
    first = f"530123{day.tm_year:04}{day.tm_mon:02}{day.tm_mday:02}{seq:03}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(first, weights)) % 11]
    return first + check, f"{day.tm_year:04}-{day.tm_mon:02}-{day.tm_mday:02}"


# ---------------------------------------------------------------- the systems


class Bangfu:
    name = "bangfu"

    def __init__(self, bin_path):
        self.bin = bin_path

    def server(self):
        return Server([self.bin, "serve", "--demo"],
                      env={"BANGFU_DATA_DIR": "{dir}/data", "BANGFU_ADDR": "127.0.0.1:{port}"},
                      ready="/ready")

    def device_login(self, srv, user):
        h = Http(srv.port)
        t = h.json("POST", "/v1/auth/login", {"username": user, "password": DEMO_PASSWORD})
        d = h.json("POST", "/v1/devices", {"name": "bench", "platform": "bench"},
                   {"Authorization": "Bearer " + t["access_token"]})
        t = h.json("POST", "/v1/auth/login",
                   {"username": user, "password": DEMO_PASSWORD, "device_id": d["id"]})
        h.headers = {"Authorization": "Bearer " + t["access_token"], "Bangfu-Sync-Protocol": "1"}
        return h, t["user_id"]

    def setup(self, srv):
        self.pusher, self.helper_id = self.device_login(srv, "qingshan_helper")
        self.puller, _ = self.device_login(srv, "county_officer")
        regions = self.puller.json("GET", "/v1/regions?limit=500")["items"]
        self.region = next(r["id"] for r in regions if r["code"] == "530123101001")
        # 50 households for the visits to belong to, as sync-bench does.
        self.households = []
        for i in range(50):
            idn, birth = resident_id(i)
            r = self.puller.json("POST", "/v1/households", {
                "region_id": self.region, "address": "一组 1 号",
                "members": [{"name": "王建国", "relation": "head", "id_number": idn,
                             "birth_date": birth, "gender": "male"}]})
            self.households.append(r["id"])

    def push_bodies(self, records):
        rng = random.Random()
        now = int(time.time() * 1000)
        muts = []
        for i, r in enumerate(records):
            f = dict(r["fields"], region_id=self.region, helper_id=self.helper_id,
                     household_id=self.households[i % 50])
            muts.append({"mutation_id": uuid7(rng, now), "entity": "visit", "id": r["id"],
                         "base_version": 0, "hlc": f"{now:018}-00000-bench", "fields": f})
        return [orjson.dumps({"mutations": muts[i:i + BATCH]})
                for i in range(0, len(muts), BATCH)]

    def push(self, bodies):
        for b in bodies:
            r = self.pusher.json("POST", "/v1/sync/push", b, {"Content-Type": "application/json"})
            bad = [x for x in r["results"] if x["status"] != "applied"]
            if bad:
                raise SystemExit(f"bangfu push refused: {bad[:2]}")

    def pull(self):
        rows, cursor = 0, None
        while True:
            path = f"/v1/sync/pull?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
            page = self.puller.json("GET", path)
            rows += len(page["changes"])
            cursor = page.get("next_cursor")
            if page.get("has_more") is not True:
                return rows

    def photo_requests(self, photos):
        out = []
        for p in photos:
            digest = hashlib.sha256(p).hexdigest()
            meta = "sha256 " + base64.b64encode(digest.encode()).decode() + ",kind " + \
                base64.b64encode(b"photo").decode()
            out.append((p, {"Content-Type": "application/offset+octet-stream",
                            "Upload-Length": str(len(p)), "Upload-Metadata": meta}))
        return out

    def upload(self, reqs):
        for body, headers in reqs:
            self.pusher.call("POST", "/v1/uploads", body, headers)


class Pouchdb:
    name = "pouchdb-server"

    def __init__(self, bin_path):
        self.bin = bin_path

    def server(self):
        return Server([self.bin, "--port", "{port}", "--host", "127.0.0.1", "--dir", "{dir}",
                       "--config", "{dir}/config.json"], cwd="{dir}", ready="/")

    def setup(self, srv):
        self.http = Http(srv.port)
        self.http.call("PUT", "/visits")
        self.http.call("PUT", "/photos")

    def push_bodies(self, records):
        docs = [dict(r["fields"], _id=r["id"], entity="visit", hlc=r["hlc"]) for r in records]
        return [orjson.dumps({"docs": docs[i:i + BATCH]}) for i in range(0, len(docs), BATCH)]

    def push(self, bodies):
        for b in bodies:
            r = self.http.json("POST", "/visits/_bulk_docs", b, {"Content-Type": "application/json"})
            bad = [x for x in r if not x.get("ok")]
            if bad:
                raise SystemExit(f"pouchdb push refused: {bad[:2]}")

    def pull(self):
        rows, since = 0, 0
        while True:
            page = self.http.json("GET", f"/visits/_changes?include_docs=true&limit={PAGE}&since={since}")
            rows += len(page["results"])
            since = page["last_seq"]
            if len(page["results"]) < PAGE:
                return rows

    def photo_requests(self, photos):
        return [(f"/photos/photo-{i:04}/photo.jpg", p) for i, p in enumerate(photos)]

    def upload(self, reqs):
        for path, body in reqs:
            self.http.call("PUT", path, body, {"Content-Type": "image/jpeg"})


class Pocketbase:
    name = "PocketBase"
    ADMIN = ("admin@bench.local", "bench-password-2026")
    USER = ("helper@bench.local", "bench-password-2026")

    def __init__(self, bin_path):
        self.bin = bin_path

    def server(self):
        srv = Server([self.bin, "serve", "--http", "127.0.0.1:{port}", "--dir", "{dir}/pb_data"],
                     ready="/api/health")
        subprocess.run([self.bin, "superuser", "upsert", *self.ADMIN, "--dir", f"{srv.dir}/pb_data"],
                       check=True, stdout=subprocess.DEVNULL)
        return srv

    def setup(self, srv):
        admin = Http(srv.port)
        t = admin.json("POST", "/api/collections/_superusers/auth-with-password",
                       {"identity": self.ADMIN[0], "password": self.ADMIN[1]})
        admin.headers = {"Authorization": t["token"]}
        # The batch API is off by default and takes 50 requests; bangfu's batches are 500.
        admin.json("PATCH", "/api/settings",
                   {"batch": {"enabled": True, "maxRequests": BATCH, "timeout": 30}})
        signed_in = '@request.auth.id != ""'
        text = lambda n: {"name": n, "type": "text"}
        admin.json("POST", "/api/collections", {
            "name": "visits", "type": "base",
            "listRule": signed_in, "viewRule": signed_in, "createRule": signed_in,
            "fields": [text("rid"), text("entity"), text("hlc"), text("region_id"),
                       text("household_id"), text("helper_id"), text("kind"),
                       text("visited_at"), {"name": "basic_needs", "type": "json"},
                       text("notes")]})
        admin.json("POST", "/api/collections", {
            "name": "photos", "type": "base",
            "listRule": signed_in, "viewRule": signed_in, "createRule": signed_in,
            "fields": [{"name": "file", "type": "file", "maxSelect": 1, "maxSize": 25 << 20}]})
        admin.json("POST", "/api/collections/users/records",
                   {"email": self.USER[0], "password": self.USER[1], "passwordConfirm": self.USER[1]})
        self.http = Http(srv.port)
        t = self.http.json("POST", "/api/collections/users/auth-with-password",
                           {"identity": self.USER[0], "password": self.USER[1]})
        self.http.headers = {"Authorization": t["token"]}

    def push_bodies(self, records):
        reqs = [{"method": "POST", "url": "/api/collections/visits/records",
                 "body": dict(r["fields"], rid=r["id"], entity="visit", hlc=r["hlc"])}
                for r in records]
        return [orjson.dumps({"requests": reqs[i:i + BATCH]}) for i in range(0, len(reqs), BATCH)]

    def push(self, bodies):
        for b in bodies:
            r = self.http.json("POST", "/api/batch", b, {"Content-Type": "application/json"})
            bad = [x for x in r if x.get("status") != 200]
            if bad:
                raise SystemExit(f"PocketBase push refused: {bad[:2]}")

    def pull(self):
        rows, page = 0, 1
        while True:
            r = self.http.json("GET", f"/api/collections/visits/records?page={page}&perPage={PAGE}&skipTotal=1")
            rows += len(r["items"])
            page += 1
            if len(r["items"]) < PAGE:
                return rows

    def photo_requests(self, photos):
        out = []
        for i, p in enumerate(photos):
            boundary = f"----bench{i:08}"
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                    f"filename=\"photo-{i:04}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() \
                + p + f"\r\n--{boundary}--\r\n".encode()
            out.append((body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}))
        return out

    def upload(self, reqs):
        for body, headers in reqs:
            self.http.call("POST", "/api/collections/photos/records", body, headers)


# ---------------------------------------------------------------- one round


def phase(srv, run, quiet):
    """Runs `run()`; returns (its result, wall seconds, server CPU-s during the requests,
    server CPU-s until quiet again, client CPU-s)."""
    c0, k0, t0 = tree_cpu(srv.pid), time.process_time(), time.perf_counter()
    result = run()
    secs = time.perf_counter() - t0
    k1, c1 = time.process_time(), tree_cpu(srv.pid)
    c2 = settle(srv.pid, quiet)
    return result, secs, c1 - c0, c2 - c0, k1 - k0


def one_round(system, records, photos, keep):
    srv = system.server()
    try:
        srv.start()
        system.setup(srv)
        settle(srv.pid, 1.0)
        out = {}
        bodies = system.push_bodies(records)
        # The push phase waits 6 s of quiet: bangfu's projector follows the feed every 5 s.
        _, s, during, total, client = phase(srv, lambda: system.push(bodies), 6.0)
        out["push"] = dict(n=len(records), secs=s, cpu_during=during, cpu=total, client=client)
        rows, s, during, total, client = phase(srv, system.pull, 1.5)
        out["pull"] = dict(n=rows, secs=s, cpu_during=during, cpu=total, client=client)
        reqs = system.photo_requests(photos)
        _, s, during, total, client = phase(srv, lambda: system.upload(reqs), 1.5)
        out["photos"] = dict(n=len(photos), secs=s, cpu_during=during, cpu=total, client=client)
        with open(f"/proc/{srv.pid}/status") as f:
            out["rss_mib"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
        return out
    finally:
        srv.close(keep)


# ---------------------------------------------------------------- report


def fmt(x, digits=0):
    return f"{x:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--bangfu", required=True)
    ap.add_argument("--pouchdb", required=True)
    ap.add_argument("--pocketbase", required=True)
    ap.add_argument("--keep", action="store_true", help="keep each data folder (for a look)")
    a = ap.parse_args()

    systems = [Bangfu(a.bangfu), Pouchdb(a.pouchdb), Pocketbase(a.pocketbase)]
    records = make_records(a.records)
    photos = make_photos(a.photos)
    rec_bytes = statistics.mean(len(orjson.dumps(r["fields"])) for r in records)
    print(f"# peers: {a.records} visit records (fields about {rec_bytes:.0f} bytes of JSON), "
          f"batches of {BATCH}, pages of {PAGE}; {a.photos} JPEGs of "
          f"{min(map(len, photos)) // 1024}-{max(map(len, photos)) // 1024} KiB "
          f"({sum(map(len, photos)) / a.photos / 1024:.0f} KiB on average); {a.rounds} rounds")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}, load average {loadavg()}, {os.cpu_count()} cores")
    started = time.time()
    results = {s.name: [] for s in systems}
    loads = [loadavg()]
    for rnd in range(1, a.rounds + 1):
        for s in systems:
            r = one_round(s, records, photos, a.keep)
            results[s.name].append(r)
            print(f"round {rnd} {s.name:15} "
                  + "  ".join(f"{p} {r[p]['n'] / r[p]['secs']:8,.0f}/s {r[p]['cpu']:5.2f} CPU-s "
                              f"(client {r[p]['client']:4.2f})"
                              for p in ("push", "pull", "photos"))
                  + f"  peak RSS {r['rss_mib']:.0f} MiB  load {loadavg()}", flush=True)
            loads.append(loadavg())
    elapsed = time.time() - started

    def med(name, p, key):
        vals = results[name][:]
        if key == "rate":
            return statistics.median(v[p]["n"] / v[p]["secs"] for v in vals)
        return statistics.median(v[p][key] for v in vals)

    units = {"push": "records/s", "pull": "records/s", "photos": "photos/s"}
    print()
    print(f"Medians of {a.rounds} rounds; load average (1, 5, 15 min) from {loads[0]} to "
          f"{loads[-1]}, 1-min between {min(float(l.split()[0]) for l in loads):.2f} and "
          f"{max(float(l.split()[0]) for l in loads):.2f}; {elapsed / 60:.1f} minutes.")
    print()
    print("| phase | bangfu ÷ pouchdb-server, throughput | pouchdb-server ÷ bangfu, CPU-s "
          "| bangfu ÷ PocketBase, throughput | PocketBase ÷ bangfu, CPU-s |")
    print("| --- | --- | --- | --- | --- |")
    ratios = {}
    for p in ("push", "pull", "photos"):
        cells = []
        for peer in ("pouchdb-server", "PocketBase"):
            t = med("bangfu", p, "rate") / med(peer, p, "rate")
            c = med(peer, p, "cpu") / med("bangfu", p, "cpu")
            ratios[(p, peer)] = (t, c)
            cells += [f"{t:.2f}×", f"{c:.2f}×"]
        print(f"| {p} | " + " | ".join(cells) + " |")
    print()
    print("| system | push records/s | push server CPU-s | pull records/s | pull server CPU-s "
          "| photos/s | photos server CPU-s | server peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in systems:
        n = s.name
        print(f"| {n} | {fmt(med(n, 'push', 'rate'))} | {med(n, 'push', 'cpu'):.2f} "
              f"({med(n, 'push', 'cpu_during'):.2f} during) | {fmt(med(n, 'pull', 'rate'))} "
              f"| {med(n, 'pull', 'cpu'):.2f} | {fmt(med(n, 'photos', 'rate'))} "
              f"| {med(n, 'photos', 'cpu'):.2f} ({med(n, 'photos', 'cpu_during'):.2f} during) "
              f"| {statistics.median(v['rss_mib'] for v in results[n]):.0f} MiB |")
    print()
    print("| system | rows pulled | client CPU-s: push, pull, photos | wall s: push, pull, photos |")
    print("| --- | --- | --- | --- |")
    for s in systems:
        n = s.name
        print(f"| {n} | {results[n][0]['pull']['n']:,} | "
              + ", ".join(f"{med(n, p, 'client'):.2f}" for p in ("push", "pull", "photos")) + " | "
              + ", ".join(f"{med(n, p, 'secs'):.2f}" for p in ("push", "pull", "photos")) + " |")
    print()
    goals = [("push", "pouchdb-server", 5), ("push", "PocketBase", 5), ("pull", "pouchdb-server", 5),
             ("pull", "PocketBase", 5), ("photos", "PocketBase", 3)]
    for p, peer, want in goals:
        t, c = ratios[(p, peer)]
        verdict = "met" if t >= want and c >= want else "NOT met"
        print(f"- {p} ≥ {want}× {peer} (throughput and CPU-s): {verdict} "
              f"({t:.2f}× throughput, {c:.2f}× less CPU)")
    print(f"\n# raw results (JSON): {json.dumps(results)}", file=sys.stderr)


if __name__ == "__main__":
    main()
