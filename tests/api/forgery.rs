//! Reward integrity in code, over HTTP against the real server and sandbox: solutions that try
//! to forge their own pass. Each forgery sits next to the honest solution of the same task,
//! which must still be accepted; no forgery may earn accuracy (decision record 006).

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Read by the host (docs/code-semantics.md, "Assert lines judged on the host").
const PY_TEST: &str = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(5) == 25\n";
/// The same test with a loop, which the host does not read: it runs in the judge.
const PY_TEST_JUDGED: &str =
    "def check(candidate):\n    for x, want in [(2, 4), (5, 25)]:\n        assert candidate(x) == want\n";
const PY_HONEST: &str = "def square(x):\n    return x * x\n";

const JS_TEST: &str =
    "function check(candidate) {\n  assert(candidate(2) === 4);\n  assert(candidate(5) === 25);\n}\n";
const JS_HONEST: &str = "function square(x) { return x * x; }\n";

fn item(id: &str, language: &str, code: &str, test: &str) -> Value {
    json!({
        "id": id,
        "completion": format!("<think>Square it.</think>\n```{language}\n{code}\n```\n"),
        "task": { "kind": "code", "language": language, "entry_point": "square", "assert": test,
                  "limits": { "time_ms": 5000 } },
    })
}

/// Python forgeries of `square` (a wrong solution trying to pass `PY_TEST`).
fn python_forgeries() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "always-equal object",
            "class Any:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n\
             def square(x):\n    return Any()\n",
        ),
        (
            "int subclass equal to everything",
            "class Int(int):\n    def __eq__(self, other): return True\n    __hash__ = int.__hash__\n\
             def square(x):\n    return Int(0)\n",
        ),
        (
            "str subclass equal to everything",
            "class S(str):\n    def __eq__(self, other): return True\n    __hash__ = str.__hash__\n\
             def square(x):\n    return S('no')\n",
        ),
        (
            "list subclass equal to everything",
            "class L(list):\n    def __eq__(self, other): return True\n\
             def square(x):\n    return L()\n",
        ),
        (
            "truthy comparison result",
            "class T:\n    def __bool__(self): return True\n\
             class Any:\n    def __eq__(self, other): return T()\n\
             def square(x):\n    return Any()\n",
        ),
        (
            "compile with optimize=2 strips the asserts",
            "import builtins\n_compile = builtins.compile\n\
             def compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1):\n    \
                 return _compile(source, filename, mode, flags, dont_inherit, 2)\n\
             builtins.compile = compile\n\
             def square(x):\n    return 0\n",
        ),
        (
            "exec wrapped to swap check",
            "import builtins\n_exec = builtins.exec\n\
             def exec(code, g=None, l=None):\n    _exec(code, g, l)\n    \
                 if g is not None and 'check' in g:\n        g['check'] = lambda c: None\n\
             builtins.exec = exec\n\
             def square(x):\n    return 0\n",
        ),
        (
            "walk the frames to the driver and report a pass",
            "import sys\n\
             def square(x):\n    f = sys._getframe(1)\n    while f is not None:\n        \
                 for v in list(f.f_locals.values()):\n            \
                     if callable(v) and getattr(v, '__name__', '') == 'report':\n                \
                         v('passed')\n                import os\n                os._exit(0)\n        \
                 f = f.f_back\n    return 0\n",
        ),
        (
            "read the nonce from a closure cell, print the pass marker and leave",
            "import gc, os, sys\n\
             def square(x):\n    for o in gc.get_objects():\n        \
                 if callable(o) and getattr(o, '__closure__', None):\n            \
                     for cell in o.__closure__:\n                \
                         try:\n                    v = cell.cell_contents\n                \
                         except ValueError:\n                    continue\n                \
                         if isinstance(v, str) and len(v) == 40:\n                    \
                             sys.__stdout__.write('\\n' + v + ' passed\\n')\n                    \
                             sys.__stdout__.flush()\n    os._exit(0)\n",
        ),
        (
            "sys.stdout.write rewritten so the failure reads as a pass",
            "import sys\n_write = sys.stdout.write\n\
             def write(text):\n    \
                 return _write(text.replace('assertion_failed', 'passed').replace('exception', 'passed'))\n\
             sys.stdout.write = write\n\
             def square(x):\n    return 0\n",
        ),
        (
            "sys.modules tampering: replace the driver module",
            "import sys, types\n\
             for name in list(sys.modules):\n    \
                 if 'harness' in name:\n        m = sys.modules[name]\n        \
                     for attr in dir(m):\n            \
                         if callable(getattr(m, attr, None)) and not attr.startswith('__'):\n                \
                             try:\n                    setattr(m, attr, lambda *a, **k: None)\n                \
                             except Exception:\n                    pass\n\
             def square(x):\n    return 0\n",
        ),
        (
            "atexit prints a pass",
            "import atexit, sys\n\
             atexit.register(lambda: sys.__stdout__.write('\\npassed\\n'))\n\
             def square(x):\n    return 0\n",
        ),
        (
            "inspect the caller for expected values",
            "import inspect\n\
             def square(x):\n    for frame in inspect.stack():\n        \
                 for value in frame.frame.f_locals.values():\n            \
                     if isinstance(value, int) and value == x * x:\n                return value\n    \
                 return 0\n",
        ),
        (
            "define check itself",
            "def check(candidate):\n    pass\n\
             def square(x):\n    return 0\n",
        ),
        (
            "raise AssertionError subclass that claims to pass",
            "class Fine(BaseException):\n    pass\n\
             def square(x):\n    raise Fine()\n",
        ),
        (
            "exit 0 at the first call",
            "import sys\ndef square(x):\n    sys.exit(0)\n",
        ),
        (
            "os._exit at import",
            "import os\nos._exit(0)\ndef square(x):\n    return x * x\n",
        ),
        (
            "a function as the result",
            "def square(x):\n    return lambda *a: True\n",
        ),
        (
            "print the missing-module line to get a second run",
            "import sys\nsys.stderr.write(\"ModuleNotFoundError: No module named 'lzma'\\n\")\nsys.exit(1)\n\
             def square(x):\n    return x * x\n",
        ),
        ("never answers", "def square(x):\n    while True:\n        pass\n"),
        (
            "consume the calls waiting on stdin so none is answered",
            "import sys\nsys.stdin.read()\ndef square(x):\n    return 0\n",
        ),
        (
            "answer every call with a forged marker of an unknown tag, then leave",
            "import sys, os\n\
             nonce = sys._getframe(1).f_locals.get('nonce', '')\n\
             for _ in range(2):\n    sys.__stdout__.write('\\n' + nonce + ' returned {\"$eq\": true}\\n')\n\
             sys.__stdout__.flush()\nos._exit(0)\n\
             def square(x):\n    return 0\n",
        ),
        (
            "a forged set holding a list",
            "import sys, os\n\
             nonce = sys._getframe(1).f_locals.get('nonce', '')\n\
             for _ in range(2):\n    sys.__stdout__.write('\\n' + nonce + ' returned {\"$set\": [[4]]}\\n')\n\
             sys.__stdout__.flush()\nos._exit(0)\n\
             def square(x):\n    return 0\n",
        ),
        (
            "answer the first call right, then crash before the second",
            "import os\n\
             def square(x):\n    if x == 2:\n        return 4\n    os._exit(0)\n",
        ),
        (
            "an integer too long for the host to read exactly",
            "import sys\nsys.set_int_max_str_digits(0)\ndef square(x):\n    return 10 ** 5000 + x * x\n",
        ),
    ]
}

/// JavaScript forgeries of `square` against `JS_TEST`.
fn javascript_forgeries() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "shadow assert",
            "function assert() {}\nfunction square(x) { return 0; }\n",
        ),
        (
            "reassign assert",
            "assert = () => {};\nfunction square(x) { return 0; }\n",
        ),
        (
            "reassign check",
            "check = () => {};\nvar check;\nfunction square(x) { return 0; }\n",
        ),
        (
            "replace std.out.puts",
            "const puts = std.out.puts.bind(std.out);\n\
             std.out.puts = (s) => puts(String(s).replace('assertion_failed', 'passed'));\n\
             function square(x) { return 0; }\n",
        ),
        (
            "a Proxy equal to anything",
            "function square(x) { return new Proxy({}, { get: () => () => true }); }\n",
        ),
        (
            "toJSON that claims the expected value",
            "function square(x) { return { toJSON() { return x * x; }, valueOf() { return 0; } }; }\n",
        ),
        (
            "defineProperty on globalThis",
            "Object.defineProperty(globalThis, 'assert', { get: () => () => {} });\n\
             function square(x) { return 0; }\n",
        ),
        (
            "getter on the returned object",
            "function square(x) { return { get value() { return x * x; } }; }\n",
        ),
        ("exit at the first call", "function square(x) { std.exit(0); }\n"),
        (
            "print a pass marker",
            "function square(x) { std.out.puts('\\npassed\\n'); std.exit(0); }\n",
        ),
    ]
}

async fn judge(app: &TestApp, items: Vec<Value>) -> Vec<Value> {
    let reply = app.post_json("/v1/rewards", &json!({ "items": items })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["results"].as_array().unwrap().clone()
}

fn assert_forgeries_fail(results: &[Value], names: &[&str]) {
    assert_eq!(
        results[0]["verdict"], "accepted",
        "honest control: {:#}",
        results[0]
    );
    assert_eq!(results[0]["components"]["accuracy"], 1.0);
    let passed: Vec<String> = results[1..]
        .iter()
        .zip(names)
        .filter(|(result, _)| {
            result["verdict"] == "accepted"
                || result["components"]["accuracy"].as_f64().unwrap_or(1.0) > 0.0
                || !result["error"].is_null()
        })
        .map(|(result, name)| format!("{name}: {result:#}"))
        .collect();
    assert!(
        passed.is_empty(),
        "forgeries that were not failing verdicts: {passed:#?}"
    );
}

#[tokio::test]
async fn python_forgeries_of_an_assert_test_all_fail_and_the_honest_solution_passes() {
    let app = spawn_app().await;
    let forgeries = python_forgeries();
    // Every forgery against the test the host reads and against the one the judge runs.
    for test in [PY_TEST, PY_TEST_JUDGED] {
        let mut items = vec![item("honest", "python", PY_HONEST, test)];
        items.extend(
            forgeries
                .iter()
                .map(|(name, code)| item(name, "python", code, test)),
        );
        let names: Vec<&str> = forgeries.iter().map(|(name, _)| *name).collect();
        assert_forgeries_fail(&judge(&app, items).await, &names);
    }
}

#[tokio::test]
async fn the_host_and_the_judge_reach_the_same_verdicts_on_assert_lines() {
    let app = spawn_app().await;
    // Each solution against the same lines, read by the host and (behind a loop over one
    // element, which the host does not read) run in the judge: the verdicts must agree.
    let lines = [
        "assert candidate(2) == 4.0",
        "assert candidate(3) == 9",
        "assert abs(candidate(2) - 4.0000001) < 1e-6",
        "assert not candidate(0)",
        "assert candidate(1) is True",
        "assert candidate((1, 2)) == [1, 2]",
        "assert candidate({1: 2}) == {1.0: 2}",
        "assert candidate(10 ** 30) == 10 ** 60",
    ];
    let solutions = [
        ("square", "def square(x):\n    return x * x\n"),
        ("identity", "def square(x):\n    return x\n"),
        ("true", "def square(x):\n    return True\n"),
        (
            "list",
            "def square(x):\n    return list(x) if isinstance(x, tuple) else x\n",
        ),
        ("raises", "def square(x):\n    raise KeyError(x)\n"),
        ("asserts", "def square(x):\n    assert False\n"),
        ("object", "class O:\n    pass\ndef square(x):\n    return O()\n"),
        ("string", "def square(x):\n    return str(x)\n"),
    ];
    let mut items = Vec::new();
    for line in lines {
        let read = format!("def check(candidate):\n    {line}\n");
        let judged = format!("def check(candidate):\n    for _ in [0]:\n        {line}\n");
        for (name, code) in solutions {
            items.push(item(&format!("{name} | {line} | host"), "python", code, &read));
            items.push(item(&format!("{name} | {line} | judge"), "python", code, &judged));
        }
    }
    let results = judge(&app, items).await;
    let mut differences = Vec::new();
    let mut accepted = 0;
    for pair in results.chunks(2) {
        let (host, judge) = (&pair[0], &pair[1]);
        accepted += usize::from(host["verdict"] == "accepted");
        if host["verdict"] != judge["verdict"] {
            differences.push(format!(
                "{}: host {} judge {}",
                host["id"], host["verdict"], judge["verdict"]
            ));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // Not a vacuous agreement: some pass, most fail, and the host's side was decided by the
    // host (its evidence names the failing line and the call).
    assert!((6..20).contains(&accepted), "{accepted} accepted");
    let host_notes = results
        .iter()
        .step_by(2)
        .filter(|r| {
            r["details"]["tests"][0]["note"]
                .as_str()
                .is_some_and(|n| n.starts_with("assert line 1: square("))
        })
        .count();
    assert!(
        host_notes >= 10,
        "{host_notes} host verdicts name their line: {:#}",
        results[0]
    );
}

#[tokio::test]
async fn javascript_forgeries_of_an_assert_test_all_fail_and_the_honest_solution_passes() {
    let app = spawn_app().await;
    let forgeries = javascript_forgeries();
    let mut items = vec![item("honest", "javascript", JS_HONEST, JS_TEST)];
    items.extend(
        forgeries
            .iter()
            .map(|(name, code)| item(name, "javascript", code, JS_TEST)),
    );
    let names: Vec<&str> = forgeries.iter().map(|(name, _)| *name).collect();
    assert_forgeries_fail(&judge(&app, items).await, &names);
}

#[tokio::test]
async fn honest_results_of_every_plain_kind_cross_to_the_judge_intact() {
    let app = spawn_app().await;
    let test = "import collections\n\
                def check(candidate):\n    \
                    assert candidate('tuple') == (1, 'a', None)\n    \
                    assert candidate('set') == {1, 2}\n    \
                    assert candidate('dict') == {(1, 2): [3.5, float('inf')]}\n    \
                    assert candidate('big') == 2**200 + 1 and candidate('big') != 2**200\n    \
                    assert candidate('bool') is True and candidate('bool') != 1.5\n    \
                    assert candidate('counter') == {'a': 2}\n    \
                    r = candidate('nan')\n    assert r != r\n    \
                    assert candidate('bytes') == b'\\x00\\xff'\n    \
                    assert candidate('complex') == 1 - 2j\n";
    let code = "import collections, math\n\
                def square(kind):\n    \
                    return {'tuple': (1, 'a', None), 'set': {2, 1}, 'dict': {(1, 2): [3.5, math.inf]},\n            \
                            'big': 2**200 + 1, 'bool': True, 'counter': collections.Counter('aa'),\n            \
                            'nan': math.nan, 'bytes': b'\\x00\\xff', 'complex': complex(1, -2)}[kind]\n";
    let wrong = code.replace("2**200 + 1", "2**200");
    let results = judge(
        &app,
        vec![
            item("plain", "python", code, test),
            item("wrong", "python", &wrong, test),
        ],
    )
    .await;
    assert_eq!(results[0]["verdict"], "accepted", "{:#}", results[0]);
    assert_eq!(results[1]["verdict"], "wrong_answer", "{:#}", results[1]);
}

#[tokio::test]
async fn what_the_solution_raises_reaches_the_test_as_a_builtin_exception() {
    let app = spawn_app().await;
    let test = "def check(candidate):\n    \
                    try:\n        candidate(-1)\n    except ValueError:\n        pass\n    \
                    else:\n        assert False, 'expected a ValueError'\n    \
                    assert candidate(3) == 9\n";
    let honest = "def square(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x * x\n";
    let silent = "def square(x):\n    return x * x\n";
    let results = judge(
        &app,
        vec![
            item("raises", "python", honest, test),
            item("silent", "python", silent, test),
        ],
    )
    .await;
    assert_eq!(results[0]["verdict"], "accepted", "{:#}", results[0]);
    assert_eq!(results[1]["verdict"], "wrong_answer", "{:#}", results[1]);
}

#[tokio::test]
async fn compile_errors_and_printed_markers_are_told_apart() {
    let app = spawn_app().await;
    let broken = "def square(x)\n    return x * x\n";
    let printed = "print('compile_error')\nimport sys\nsys.stderr.write('SyntaxError: invalid syntax\\n')\n\
                   def square(x):\n    return 0\n";
    let results = judge(
        &app,
        vec![
            item("broken", "python", broken, PY_TEST),
            item("printed", "python", printed, PY_TEST),
        ],
    )
    .await;
    assert_eq!(results[0]["verdict"], "compile_error", "{:#}", results[0]);
    assert_eq!(results[1]["verdict"], "wrong_answer", "{:#}", results[1]);
}

#[tokio::test]
async fn call_based_integers_compare_exactly_from_the_request_on() {
    let app = spawn_app().await;
    let task = |expected: &str| -> Value {
        serde_json::from_str(&format!(
            r#"{{"kind": "code", "language": "python", "fn_name": "f", "cases": [{{"args": [], "expected": {expected}}}]}}"#
        ))
        .unwrap()
    };
    let case = |id: &str, body: &str, expected: &str| {
        json!({
            "id": id,
            "completion": format!("<think>t</think>\n```python\ndef f():\n    return {body}\n```\n"),
            "task": task(expected),
        })
    };
    let results = judge(
        &app,
        vec![
            case("2**63+1 vs 2**63", "2**63 + 1", "9223372036854775808"),
            case("exact big", "2**63", "9223372036854775808"),
            case(
                "above u64",
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            case(
                "above u64, off by one",
                "123456789012345678901234567891",
                "123456789012345678901234567890",
            ),
            case(
                "float that rounds to it",
                "1e30",
                "1000000000000000000000000000000",
            ),
        ],
    )
    .await;
    let verdicts: Vec<&str> = results.iter().map(|r| r["verdict"].as_str().unwrap()).collect();
    assert_eq!(
        verdicts,
        [
            "wrong_answer",
            "accepted",
            "accepted",
            "wrong_answer",
            "wrong_answer"
        ],
        "{results:#?}"
    );
}

#[tokio::test]
async fn printing_the_missing_module_line_gets_no_second_run() {
    let app = spawn_app().await;
    // Exits 1 after printing the line the old fallback read: a runtime error, decided once.
    let code =
        "import sys\nsys.stderr.write(\"ModuleNotFoundError: No module named 'lzma'\\n\")\nsys.exit(1)\n";
    let item = json!({
        "completion": format!("<think>t</think>\n```python\n{code}\n```\n"),
        "task": { "kind": "code", "language": "python", "tests": [{ "stdin": "", "stdout": "" }] },
    });
    let results = judge(&app, vec![item]).await;
    assert_eq!(results[0]["verdict"], "runtime_error", "{:#}", results[0]);
}

#[tokio::test]
async fn objects_of_the_solution_cross_as_references_that_decide_nothing() {
    let app = spawn_app().await;
    // MBPP builds the solution's own classes in the test; such objects stay in the solution
    // and cross as references: usable as arguments, never compared or tested for truth.
    let test = "root = Node(1)\nroot.left = Node(2)\n\
                def check(candidate):\n    assert candidate(root) == 2\n    assert candidate(root.left) == 1\n";
    let honest = "class Node:\n    def __init__(self, d):\n        self.d, self.left, self.right = d, None, None\n\
                  def square(n):\n    return 0 if n is None else 1 + max(square(n.left), square(n.right))\n";
    let truth_test = "def check(candidate):\n    assert candidate(3)\n    assert not candidate(4)\n";
    let truthy = "class Yes:\n    def __bool__(self): return True\n\
                  def square(x):\n    return Yes() if x == 3 else 0\n";
    let unequal = "class Never:\n    def __ne__(self, o): return True\n\
                   def square(x):\n    return Never()\n";
    let results = judge(
        &app,
        vec![
            item("tree", "python", honest, test),
            item("truthy object", "python", truthy, truth_test),
            item(
                "never-equal object",
                "python",
                unequal,
                "def check(candidate):\n    assert candidate(1) != 5\n",
            ),
        ],
    )
    .await;
    assert_eq!(results[0]["verdict"], "accepted", "{:#}", results[0]);
    assert_eq!(results[1]["verdict"], "runtime_error", "{:#}", results[1]);
    assert_eq!(results[2]["verdict"], "runtime_error", "{:#}", results[2]);
}

#[tokio::test]
async fn a_solution_importing_a_module_only_python_wasm_has_is_judged_there_alike() {
    let app = spawn_app().await;
    // `imghdr` is in CPython 3.12 (python.wasm), not in the 3.14 runner: the solution's side
    // runs on python.wasm, chosen from its imports, with the same drivers installed.
    let honest = "import imghdr\ndef square(x):\n    return x * x\n";
    let forged =
        "import imghdr\nclass Any:\n    def __eq__(self, o): return True\ndef square(x):\n    return Any()\n";
    let results = judge(
        &app,
        vec![
            item("honest", "python", honest, PY_TEST),
            item("forged", "python", forged, PY_TEST),
        ],
    )
    .await;
    assert_eq!(results[0]["verdict"], "accepted", "{:#}", results[0]);
    assert_eq!(results[1]["verdict"], "runtime_error", "{:#}", results[1]);
}
