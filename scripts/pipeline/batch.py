"""The checks of scripts/pipeline-no-docker.sh, against two verdict replicas behind lb.py on one
PostgreSQL. Standard library only; the database is read with `psql`.

  batch.py send --lb URL --replica URL --replica URL --run-id RUN --ids FILE
      a mixed math + code batch in chunks through the load balancer; every verdict as expected,
      both replicas judged a share; the submission ids go to FILE.
  batch.py audit --replica URL --replica URL --run-id RUN --ids FILE --database-url URL
      the audit trail holds each id exactly once and nothing else for the run, and every
      replica reports the same run totals (one shared database).
  batch.py totals --replica URL --replica URL --database-url URL [--expect-rows N]
      after the spools drained: rows in the database == items judged by all replicas together.
"""

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request


def fail(message):
    print(f"pipeline: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def http(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=300) as response:
        text = response.read().decode()
        return json.loads(text) if response.headers.get_content_type() == "application/json" else text


def fenced(language, code):
    return f"<think>write it</think>\n```{language}\n{code}\n```\n"


def mixed_batch():
    """(item, expected verdict) pairs: math right and wrong, Python and JavaScript code in each
    test format, right and wrong."""
    items = []
    for n in range(24):
        a, b = n + 3, 2 * n + 1
        right = n % 3 != 0
        answer = a * b if right else a * b + 1
        items.append((
            {"id": f"math-{n}", "completion": f"<think>{a} times {b}</think> So \\boxed{{{answer}}}",
             "task": {"kind": "math", "answer": str(a * b)}},
            "correct" if right else "incorrect",
        ))
    items.append(({"id": "math-frac", "completion": "<think>half</think> \\boxed{\\frac{1}{2}}",
                   "task": {"kind": "math", "answer": "0.5"}}, "correct"))
    items.append(({"id": "math-none", "completion": "<think>hmm</think> I do not know",
                   "task": {"kind": "math", "answer": "7"}}, "no_answer"))
    sum_task = {"kind": "code", "language": "python",
                "tests": [{"stdin": "1 2\n", "stdout": "3\n"}, {"stdin": "10 -4\n", "stdout": "6\n"}]}
    items.append(({"id": "py-stdio-ok", "completion": fenced("python", "print(sum(map(int, input().split())))"),
                   "task": sum_task}, "accepted"))
    items.append(({"id": "py-stdio-wrong", "completion": fenced("python", "print(3)"), "task": sum_task}, "wrong_answer"))
    call_task = {"kind": "code", "language": "python", "fn_name": "square",
                 "cases": [{"args": [3], "expected": 9}, {"args": [-2], "expected": 4}]}
    items.append(({"id": "py-call-ok", "completion": fenced("python", "def square(x):\n    return x * x"),
                   "task": call_task}, "accepted"))
    assert_task = {"kind": "code", "language": "python", "entry_point": "add",
                   "assert": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}
    items.append(({"id": "py-assert-wrong", "completion": fenced("python", "def add(a, b):\n    return a - b"),
                   "task": assert_task}, "wrong_answer"))
    js_task = {"kind": "code", "language": "javascript", "tests": [{"stdin": "1 2\n", "stdout": "3\n"}]}
    items.append(({"id": "js-ok", "completion": fenced(
        "javascript", "const [a, b] = std.in.readAsString().trim().split(' ').map(Number); console.log(a + b);"),
        "task": js_task}, "accepted"))
    items.append(({"id": "js-wrong", "completion": fenced("javascript", "console.log(4)"), "task": js_task}, "wrong_answer"))
    return items


def rewards_judged(replica):
    """Items this replica judged since it started: the sum of verdict_rewards_total."""
    text = http(f"{replica}/metrics")
    return sum(float(v) for v in re.findall(r"^verdict_rewards_total\{[^}]*\} (\S+)$", text, re.M))


def psql(database_url, sql):
    out = subprocess.run(["psql", database_url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode:
        fail(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


def send(args):
    pairs = mixed_batch()
    chunks = 4  # round-robin over two replicas: two chunks each
    size = -(-len(pairs) // chunks)
    ids = []
    for start in range(0, len(pairs), size):
        chunk = pairs[start:start + size]
        reply = http(f"{args.lb}/v1/rewards", {"run_id": args.run_id, "items": [item for item, _ in chunk]})
        for (item, expected), result in zip(chunk, reply["results"]):
            if "error" in result:
                fail(f"{item['id']}: not judged: {result['error']}")
            if result["verdict"] != expected:
                fail(f"{item['id']}: verdict {result['verdict']}, expected {expected}")
            ids.append(result["submission_id"])
    per_replica = [rewards_judged(r) for r in args.replica]
    print(f"pipeline: {len(ids)} items judged as expected; per replica: {per_replica}")
    if any(n == 0 for n in per_replica):
        fail(f"the batch was not split across the replicas: {per_replica}")
    with open(args.ids, "w") as file:
        json.dump(ids, file)


def wait_for_drained_spools(replicas):
    for _ in range(120):
        backlog = [http(f"{r}/readyz")["storage"]["spool_backlog"] for r in replicas]
        if not any(backlog):
            return
        time.sleep(0.5)
    fail(f"spools still hold rows after 60 s: {backlog}")


def audit(args):
    ids = json.load(open(args.ids))
    if len(set(ids)) != len(ids):
        fail("the same submission id was handed out twice")
    wait_for_drained_spools(args.replica)
    id_list = ",".join("'" + i.replace("'", "") + "'" for i in ids)
    rows = psql(args.database_url,
                f"select count(*), count(distinct submission_id) from submissions where submission_id in ({id_list})")
    found, distinct = map(int, rows.split("|"))
    run_rows, run_items = map(int, psql(
        args.database_url,
        f"select count(*), count(distinct item_id) from submissions where run_id = '{args.run_id}'").split("|"))
    print(f"pipeline: audit trail: {found} of {len(ids)} ids stored ({distinct} distinct), "
          f"{run_rows} rows for run {args.run_id}")
    if found != len(ids) or distinct != len(ids):
        fail(f"expected each of the {len(ids)} ids exactly once, found {found} rows")
    if run_rows != len(ids) or run_items != len(ids):
        fail(f"run {args.run_id} holds {run_rows} rows for {run_items} items, expected {len(ids)}")
    for replica in args.replica:
        count = http(f"{replica}/v1/runs/{args.run_id}")["count"]
        if count != len(ids):
            fail(f"{replica} reports {count} submissions for the run, expected {len(ids)}")
    print(f"pipeline: every replica reports the run's {len(ids)} submissions")


def totals(args):
    wait_for_drained_spools(args.replica)
    judged = sum(rewards_judged(r) for r in args.replica)
    rows = int(psql(args.database_url, "select count(*) from submissions")) - args.rows_before
    print(f"pipeline: {int(judged)} items judged by the replicas, {rows} new rows in the audit trail")
    if rows != judged:
        fail(f"the audit trail gained {rows} rows for {int(judged)} judged items: not exactly once")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("send")
    p.add_argument("--lb", required=True)
    p.add_argument("--replica", action="append", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--ids", required=True)
    p = sub.add_parser("audit")
    p.add_argument("--replica", action="append", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--database-url", required=True)
    p = sub.add_parser("totals")
    p.add_argument("--replica", action="append", required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--rows-before", type=int, default=0)
    args = parser.parse_args()
    {"send": send, "audit": audit, "totals": totals}[args.command](args)


if __name__ == "__main__":
    main()
