// A local stand-in for WeChat's `auth.code2Session` endpoint, speaking its documented protocol:
//
//   GET /sns/jscode2session?appid=…&secret=…&js_code=…&grant_type=authorization_code
//   → 200 {"openid": "…", "session_key": "…"}                 for a code `code-<openid>` or
//                                                              `code-<openid>~<n>` (a later wx.login)
//   → 200 {"errcode": 40029, "errmsg": "invalid code"}         for other codes
//   → 200 {"errcode": 40013, "errmsg": "invalid appid"}        for a wrong appid or secret
//
// Like WeChat it answers errors with HTTP 200 and a text/plain content type. Each code works
// once (a second use answers 40163, like WeChat). The service is pointed at it with
// PB_WECHAT_API_BASE (tests/api/wechat.rs does the same in Rust).
//
// Usage: node dist/wechat-stub.js PORT APPID SECRET   (prints "listening <port>" when ready)

import { createServer } from "node:http";

const [portArg = "0", appid = "wx-demo-app", secret = "wx-demo-secret"] = process.argv.slice(2);
const used = new Set<string>();

function answer(query: URLSearchParams): Record<string, string | number> {
  if (
    query.get("appid") !== appid ||
    query.get("secret") !== secret ||
    query.get("grant_type") !== "authorization_code"
  ) {
    return { errcode: 40013, errmsg: "invalid appid" };
  }
  const code = query.get("js_code") ?? "";
  const [user = ""] = code.split("~");
  const openid = user.startsWith("code-") ? user.slice("code-".length) : "";
  if (openid.length === 0) {
    return { errcode: 40029, errmsg: "invalid code" };
  }
  if (used.has(code)) {
    return { errcode: 40163, errmsg: "code been used" };
  }
  used.add(code);
  return { openid, session_key: Buffer.from(`session-${openid}`).toString("base64") };
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (request.method !== "GET" || url.pathname !== "/sns/jscode2session") {
    response.writeHead(404, { "Content-Type": "text/plain" });
    response.end("not found");
    return;
  }
  const body = answer(url.searchParams);
  const outcome = "errcode" in body ? `errcode ${body["errcode"]}` : "session";
  process.stderr.write(`wechat-stub: jscode2session -> ${outcome}\n`);
  response.writeHead(200, { "Content-Type": "text/plain" });
  response.end(JSON.stringify(body));
});

server.listen(Number(portArg), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : portArg;
  process.stdout.write(`listening ${port}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
