#!/usr/bin/env python3
"""Builds the fuzzers' seed corpora from ../shared/data/math (never committed: the data stay
where they are). Usage: fuzz-seeds.py DATA_DIR CORPUS_DIR; writes CORPUS_DIR/<target>/seed-N."""

import hashlib
import json
import pathlib
import sys

data, corpus = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
seeds = {name: set() for name in
         ["extract_answer", "math_parse", "math_equivalence", "code_fence", "request_items"]}


def rows(name):
    path = data / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


for name in ["peer_cases.jsonl", "issue_cases.jsonl", "feature_probes.jsonl"]:
    for row in rows(name):
        gold, prediction = str(row.get("gold", "")), str(row.get("prediction", ""))
        seeds["math_parse"].update([gold, prediction])
        seeds["math_equivalence"].add(f"{gold}\n{prediction}")
        seeds["extract_answer"].add(f"<think>reasoning</think> {prediction}")
for index, row in enumerate(rows("math500.jsonl")):
    answer, solution = row["answer"], row["solution"]
    seeds["math_parse"].add(answer)
    seeds["math_equivalence"].add(f"{answer}\n{answer}")
    if index % 5 == 0:
        seeds["extract_answer"].add(f"<think>{solution}</think> The answer is $\\boxed{{{answer}}}$.")
        seeds["request_items"].add(json.dumps({"run_id": "fuzz", "items": [
            {"id": str(index), "prompt": row["problem"],
             "completion": f"<think>t</think> \\boxed{{{answer}}}",
             "task": {"kind": "math", "answer": answer}}]}))
for index, row in enumerate(rows("gsm8k_test.jsonl")[:200]):
    seeds["extract_answer"].add(row["answer"])
    final = row["answer"].rsplit("####", 1)[-1].strip()
    seeds["math_parse"].add(final)
# Code answers in the fences models write, and code tasks in each test format.
for fence in ["```python\nprint(1)\n```", "~~~py\nx = 1\n~~~", "````\n```\nnested\n```\n````",
              "```js\nconsole.log(1)\n```\ntrailing", "```python\nunclosed"]:
    seeds["code_fence"].add(f"<think>plan</think>\n{fence}")
for task in [
    {"kind": "code", "language": "python", "tests": [{"stdin": "1 2\n", "stdout": "3"}]},
    {"kind": "code", "language": "python", "fn_name": "f", "cases": [{"args": [1], "expected": 2}],
     "limits": {"time_ms": 100, "memory_mb": 16, "output_bytes": 1024}},
    {"kind": "code", "language": "javascript", "entry_point": "f",
     "assert": "def check(candidate):\n    assert candidate(1) == 2", "stop_on_first_failure": True},
    {"kind": "code", "language": "python", "tests": [{"stdout": "0.5", "compare": {"mode": "float", "rel_tol": 1e-6, "abs_tol": 0}}]},
]:
    seeds["request_items"].add(json.dumps({"items": [{"completion": "```python\nprint(3)\n```", "task": task}]}))

for target, inputs in seeds.items():
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    for text in inputs:
        data_bytes = text.encode()
        (folder / f"seed-{hashlib.sha1(data_bytes).hexdigest()[:16]}").write_bytes(data_bytes)
    print(f"{target}: {len(inputs)} seeds")
