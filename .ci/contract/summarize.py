"""Group the failures of schemathesis runs (their NDJSON event reports) for people to fix.

    python3 summarize.py RUN=FILE.ndjson [RUN=FILE.ndjson ...] > summary.md

One section per kind of failure (schemathesis code and title), one line per operation with the
statuses or messages seen, the runs (token) that saw it, and the shortest failing request as a
curl command against $BASE with $STAFF_TOKEN / $MEMBER_TOKEN.
"""

import base64
import json
import re
import shlex
import sys
from collections import defaultdict

TOKEN_VAR = {
    "staff": "$STAFF_TOKEN",
    "village": "$VILLAGE_TOKEN",
    "member": "$MEMBER_TOKEN",
    "member-unbind": "$MEMBER_TOKEN",
}


def decode(blob):
    if blob is None:
        return None
    if isinstance(blob, dict) and "$base64" in blob:
        return base64.b64decode(blob["$base64"]).decode("utf-8", "replace")
    if isinstance(blob, dict) and "string" in blob:
        return blob["string"]
    return str(blob)


def curl(run, request):
    if not request:
        return None
    uri = re.sub(r"^https?://[^/]+", "$BASE", request["uri"])
    parts = ["curl -i", "-X", request["method"]]
    for name, values in (request.get("headers") or {}).items():
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length"):
            continue
        if name.lower().startswith("x-schemathesis"):
            continue
        for value in values:
            if value == "[Filtered]" and name.lower() == "authorization":
                value = "Bearer " + TOKEN_VAR.get(run, "$TOKEN")
            parts += ["-H", f'"{name}: {value}"' if "$" in value else shlex.quote(f"{name}: {value}")]
    body = decode(request.get("body"))
    prefix = ""
    if body is not None and body.startswith("@"):
        # curl would read a file named by the rest: send the bytes through stdin instead
        prefix = f"printf %s {shell_quote(body)} | "
        parts += ["--data-binary", "@-"]
    elif body is not None:
        parts += ["--data-binary", shell_quote(body)]
    parts.append(f'"{uri}"')
    return prefix + " ".join(parts)


def printable(text):
    """Control characters as escapes, so that a report stays text."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def shell_quote(text):
    if all(c.isprintable() for c in text):
        return shlex.quote(text)
    # bash ANSI-C quoting for bodies with control characters
    return "$'" + "".join(
        c if c.isprintable() and c not in "'\\" else ("\\x%02x" % ord(c) if ord(c) < 256 else "\\u%04x" % ord(c)) for c in text
    ) + "'"


def problem_of(body):
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def group_key(failure, status, body):
    """Statuses, problem codes and fields that tell two failures of one operation apart."""
    message = failure.get("message") or ""
    problem = problem_of(body) or {}
    code = problem.get("code")
    field = problem.get("field")
    if isinstance(field, str):
        field = re.sub(r"\[\d+\]", "[]", field)  # one line for all items of a list
    suffix = ""
    if code:
        suffix = f" `{code}`" + (f" field `{field}`" if field else "")
    if failure["code"] == "ST103":  # undocumented status: the received status
        m = re.search(r"Received: (\d+)", message)
        return (f"received {m.group(1)}" if m else message.splitlines()[0]) + suffix
    if failure["code"] == "ST204":  # undeclared method: the method and what came back
        m = re.search(r"Unsupported method (\w+) returned (\d+)", message)
        return f"{m.group(1)} → {m.group(2)}" if m else message.splitlines()[0]
    if failure["code"] == "ST202":  # valid input rejected: with what
        return f"rejected with {status}{suffix}"
    first = message.splitlines()[0] if message else failure["title"]
    # Drop per-request noise (ids) so the same problem groups once.
    return printable(re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "…", first))[:200]


def main(args):
    # kind -> operation -> detail -> {"runs": set, "count": n, "example": (len, curl, response)}
    kinds = defaultdict(lambda: defaultdict(dict))
    titles = {}
    totals = defaultdict(int)
    for arg in args:
        run, _, path = arg.partition("=")
        with open(path, encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished["recorder"]
                for case_id, checks in (recorder.get("checks") or {}).items():
                    for check in checks:
                        if check["status"] != "failure":
                            continue
                        failure = check["failure_info"]["failure"]
                        kind = f'{failure["code"]} {failure["title"]}'
                        titles[kind] = check["name"]
                        totals[kind] += 1
                        op = failure["operation"]
                        inter = (recorder.get("interactions") or {}).get(case_id) or {}
                        req = inter.get("request")
                        resp = inter.get("response") or {}
                        status = resp.get("status_code")
                        body = decode(resp.get("content")) or ""
                        detail = group_key(failure, status, body)
                        slot = kinds[kind][op].setdefault(
                            detail, {"runs": set(), "count": 0, "example": None, "message": failure.get("message")}
                        )
                        slot["runs"].add(run)
                        slot["count"] += 1
                        if not slot.get("said"):
                            slot["said"] = printable(str((problem_of(body) or {}).get("detail") or ""))[:120]
                        cmd = curl(run, req)
                        if cmd is None:
                            continue
                        body = printable(body[:400])
                        if slot["example"] is None or len(cmd) < slot["example"][0]:
                            slot["example"] = (len(cmd), cmd, status, body)

    out = []
    if not kinds:
        out.append("No failures.")
        print("\n".join(out))
        return

    # Compact overview first: what to change, per operation.
    out.append("## Overview\n")
    out.append("| kind | operations | failing cases |")
    out.append("|---|---|---|")
    for kind in sorted(kinds, key=lambda k: -totals[k]):
        out.append(f"| {kind} (`{titles[kind]}`) | {len(kinds[kind])} | {totals[kind]} |")
    out.append("")
    for kind in sorted(kinds, key=lambda k: -totals[k]):
        ops = kinds[kind]
        code = kind.split()[0]
        if code == "ST204":
            by_path = defaultdict(set)
            for op, details in ops.items():
                for detail in details:
                    by_path[op.split(" ", 1)[1]].add(detail)
            out.append(f"**{kind}** — per path, the undeclared methods and what they got:\n")
            for path in sorted(by_path):
                out.append(f"- `{path}`: " + ", ".join(sorted(by_path[path])))
        elif code == "ST103":
            out.append(f"**{kind}** — per operation, the statuses to document (or stop sending):\n")
            out.append("| operation | documented | undocumented, seen (problem code, field) | runs |")
            out.append("|---|---|---|---|")
            for op in sorted(ops):
                documented = ""
                seen = []
                runs = set()
                for detail, slot in sorted(ops[op].items()):
                    m = re.search(r"Documented: ([^\n]*)", slot["message"] or "")
                    documented = m.group(1) if m else documented
                    seen.append(detail.replace("received ", ""))
                    runs |= slot["runs"]
                out.append(f"| `{op}` | {documented} | {'; '.join(seen)} | {','.join(sorted(runs))} |")
        else:
            out.append(f"**{kind}** — per operation:\n")
            out.append("| operation | what | the service said (first case) | runs |")
            out.append("|---|---|---|---|")
            for op in sorted(ops):
                for detail, slot in sorted(ops[op].items()):
                    said = slot.get("said", "").replace("|", "\\|")
                    out.append(f"| `{op}` | {detail} | {said} | {','.join(sorted(slot['runs']))} |")
        out.append("")

    out.append("## Details, with the shortest failing request of each\n")
    out.append("`BASE`, `STAFF_TOKEN`, `VILLAGE_TOKEN` and `MEMBER_TOKEN` as set up by .ci/contract/fuzz (the run names the token).\n")
    for kind in sorted(kinds, key=lambda k: -totals[k]):
        ops = kinds[kind]
        out.append(f"### {kind} (check `{titles[kind]}`): {len(ops)} operation(s), {totals[kind]} failing case(s)\n")
        for op in sorted(ops):
            for detail, slot in sorted(ops[op].items()):
                runs = ",".join(sorted(slot["runs"]))
                out.append(f"- **{op}** — {detail} — runs: {runs} — {slot['count']} case(s)")
                if slot["example"]:
                    _, cmd, status, body = slot["example"]
                    out.append(f"  - `{cmd}`")
                    out.append(f"  - got {status}: `{body.strip()}`")
                msg = (slot["message"] or "").strip()
                if msg and kind.split()[0] not in ("ST103", "ST202", "ST204"):
                    out.append("  - " + printable(msg.replace("\n", " | "))[:600])
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
