"""verdict's test driver for call-based and assert-based code tasks (DESIGN §4).

The Python runner imports this module when it is built, so a fresh instance finds the driver
already compiled: compiling it with every program cost ~12 million wasm instructions, several
times what a typical HumanEval test costs. Programs run elsewhere (python.wasm) get the same
source and execute it first. `src/code/harness.rs` writes the programs that call it and reads
the marker line it prints.

Each entry point reads the run's nonce from stdin before the solution runs, compiles the
solution itself (a SyntaxError is a compile error, not a crash), executes it in a fresh
namespace, runs the test, and prints one marker line `NONCE STATUS [JSON]` at the very end.
"""

import io
import json
import sys
import traceback


def _driver():
    nonce = sys.stdin.readline().strip()
    real_stdout = sys.stdout

    def report(status, payload=None):
        line = "\n" + nonce + " " + status + ("" if payload is None else " " + payload) + "\n"
        real_stdout.write(line)
        real_stdout.flush()

    def load(source, test_code=None):
        namespace = {"__name__": "__verdict_solution__", "__builtins__": __builtins__}
        try:
            code = compile(source, "<solution>", "exec")
        except (SyntaxError, ValueError):
            traceback.print_exc()
            report("compile_error")
            return None
        exec(code, namespace)
        if test_code is not None:
            exec(compile(test_code, "<test>", "exec"), namespace)
        return namespace

    def find(namespace, name):
        if name in namespace and callable(namespace[name]):
            return namespace[name]
        holder = namespace.get("Solution")
        if holder is not None and hasattr(holder, name):
            return getattr(holder(), name)
        return None

    def plain(value):
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {str(key): plain(item) for key, item in value.items()}
        return value

    def call(source, name):
        namespace = load(source)
        if namespace is None:
            return
        function = find(namespace, name)
        if function is None:
            report("missing_function")
            return
        args = json.loads(sys.stdin.readline() or "[]")
        # What the function prints is kept for the audit but not compared.
        sys.stdout = io.StringIO()
        try:
            result = function(*args)
        finally:
            printed = sys.stdout.getvalue()
            sys.stdout = real_stdout
            real_stdout.write(printed)
        try:
            report("returned", json.dumps(plain(result), allow_nan=False))
        except (TypeError, ValueError):
            report("unrepresentable", json.dumps(repr(result)[:1000]))

    def check(source, test_code, entry_point):
        namespace = load(source)
        if namespace is None:
            return
        if entry_point not in namespace:
            report("missing_function")
            return
        # Taken before the test code runs: a solution may itself define `check`.
        candidate = namespace[entry_point]
        exec(compile(test_code, "<test>", "exec"), namespace)
        try:
            namespace["check"](candidate)
        except AssertionError:
            traceback.print_exc()
            report("assertion_failed")
            return
        report("passed")

    def guarded(action):
        def run(*arguments):
            try:
                action(*arguments)
            except SystemExit:
                raise
            except BaseException:
                traceback.print_exc()
                report("exception")
                sys.exit(1)
        return run

    return guarded(call), guarded(check)


def call(source, name):
    """Runs the solution, then calls `name` with the JSON arguments on stdin's second line."""
    run_call, _ = _driver()
    run_call(source, name)


def check(source, test_code, entry_point):
    """Runs the solution, then the test code's `check(candidate)`."""
    _, run_check = _driver()
    run_check(source, test_code, entry_point)
