"""Local stand-in for WeChat's `jscode2session`, as in tests/api/wechat.rs, for .ci/contract/fuzz.

GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code answers HTTP 200 with a
text/plain JSON body, as WeChat does: `code-<openid>` signs in as <openid>; `bad`, `used`,
`limited`, `busy` give WeChat's error codes; anything else is an invalid code.

    python3 wechat_stub.py PORTFILE APPID SECRET

binds 127.0.0.1 on a free port and writes the port to PORTFILE once it is listening.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORTFILE, APPID, SECRET = sys.argv[1:4]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        if url.path != "/sns/jscode2session":
            self.send_error(404)
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if (
            query.get("appid") != APPID
            or query.get("secret") != SECRET
            or query.get("grant_type") != "authorization_code"
        ):
            body = {"errcode": 40013, "errmsg": "invalid appid"}
        else:
            code = query.get("js_code", "")
            errors = {
                "bad": (40029, "invalid code"),
                "used": (40163, "code been used"),
                "limited": (45011, "api minute-quota reach limit"),
                "busy": (-1, "system error"),
            }
            if code in errors:
                body = {"errcode": errors[code][0], "errmsg": errors[code][1]}
            elif code.startswith("code-") and len(code) > 5:
                openid = code[5:]
                body = {"openid": openid, "session_key": "c2Vzc2lvbg==", "unionid": f"u-{openid}"}
            else:
                body = {"errcode": 40029, "errmsg": "invalid code"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
