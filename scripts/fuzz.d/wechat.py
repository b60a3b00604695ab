"""A stand-in for WeChat's code exchanges, so the fuzzer can sign in as an applicant.

`GET /sns/jscode2session` (mini-program) and `GET /sns/oauth2/access_token` (app) answer
as WeChat does: a code `ok-<name>` with the right app id and secret gives the openid
`openid-<app>-<name>` and the unionid `union-<name>`; any other code is refused (40029),
a wrong app id or secret too (40013).

    python3 wechat.py PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

APPS = {
    "/sns/jscode2session": ("wx-fuzz-app", "wx-fuzz-secret", "js_code"),
    "/sns/oauth2/access_token": ("wx-fuzz-mobile", "wx-fuzz-mobile-secret", "code"),
}


class Exchange(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        app = APPS.get(url.path)
        if app is None:
            self.send_error(404)
            return
        app_id, secret, code_param = app
        code = query.get(code_param, "")
        if query.get("appid") != app_id or query.get("secret") != secret:
            body = {"errcode": 40013, "errmsg": "invalid appid"}
        elif code.startswith("ok-"):
            name = code[3:]
            body = {"openid": f"openid-{app_id}-{name}", "unionid": f"union-{name}", "session_key": "k"}
        else:
            body = {"errcode": 40029, "errmsg": "invalid code"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Exchange).serve_forever()
