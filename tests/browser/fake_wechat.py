"""A stand-in for WeChat's code exchange, for the browser tests' applicants.

    python3 fake_wechat.py PORT

`GET /sns/jscode2session?appid=wx-browser-test&secret=wx-browser-secret&js_code=ok-NAME`
answers the openid `browser-NAME`; any other code is refused as WeChat refuses it."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

APP_ID = "wx-browser-test"
SECRET = "wx-browser-secret"


class Exchange(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        code = q.get("js_code", "")
        if q.get("appid") != APP_ID or q.get("secret") != SECRET:
            body = {"errcode": 40013, "errmsg": "invalid appid"}
        elif url.path.endswith("/jscode2session") and code.startswith("ok-"):
            body = {"openid": "browser-" + code[3:], "session_key": "k"}
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
