"""verdict's test drivers for call-based and assert-based code tasks (docs/code-semantics.md).

The Python runner imports this module when it is built, so a fresh instance finds the drivers
already compiled: compiling them with every program cost ~12 million wasm instructions, several
times what a typical HumanEval test costs. Programs run elsewhere (python.wasm) get the same
source and execute it first. `src/code/harness.rs` writes the programs that call it and reads
the marker lines it prints.

Three entry points, each reading the run's nonce from stdin before anything else:
- `call`: one call-based case. The source is compiled and the outcome reported first (as for
  `serve`), the solution runs, the function is called with the JSON arguments on stdin, and
  the result goes back to the host as JSON; the host compares it.
- `serve`: the solution's side of an assert-based test. The source is compiled first and the
  outcome reported (`compiled` or `compile_error`) before any of the solution's code runs, so
  that report cannot come from the solution. Then the solution runs and every request on stdin
  (a function name and plain-data arguments) is answered with plain data.
- `judge`: the test's side, in another instance the solution never runs in. `check` runs with
  `candidate` (and any name the test uses but does not define) standing for a function of the
  solution: each call crosses to the `serve` instance through the host, and the result comes
  back as plain data decoded here, so what the test compares is an ordinary value whose
  methods the solution cannot have written. Decision record 006 has the threat model.
"""

import builtins
import io
import json
import sys
import traceback

# Integers cross the host at any size: CPython's default refuses str() of a 4,300-digit int.
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)


class _NotPlain(Exception):
    """A value that has no plain-data form (a custom object, a function, a cycle)."""


_MAX_DEPTH = 200


def _encode(value, depth=0, seen=None, other=None):
    """Plain data as JSON-compatible structures: exact `str`, `bool`, `None`, `int`, finite
    `float` and `list` as plain JSON (json writes every digit of an int and the shortest
    round-trip of a float), everything else tagged. Subclasses are read through the base
    types' own methods, so that one with overridden comparison or iteration crosses as its
    plain value. `other(value)` encodes what is not plain data (a reference), or raises
    `_NotPlain`."""
    # `type()` cannot be faked the way `isinstance` can (through a `__class__` property).
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        # Finite floats only: nan and the infinities are not JSON.
        return value if value - value == 0.0 else {"$float": float.__repr__(value)}
    if depth > _MAX_DEPTH:
        raise _NotPlain("nested too deeply")
    if kind is list:
        seen = set() if seen is None else seen
        if id(value) in seen:
            raise _NotPlain("a value that contains itself")
        seen.add(id(value))
        try:
            return [_encode(item, depth + 1, seen, other) for item in value]
        finally:
            seen.discard(id(value))
    if issubclass(kind, bool):
        return bool(value)
    if issubclass(kind, int):
        return int.__index__(value)
    if issubclass(kind, float):
        return _encode(float.__float__(value))
    if issubclass(kind, str):
        return str.__str__(value)
    if issubclass(kind, complex):
        return {"$complex": [float.__repr__(complex.real.__get__(value)),
                             float.__repr__(complex.imag.__get__(value))]}
    if issubclass(kind, (bytes, bytearray)):
        return {"$bytes": bytes.hex(bytes(memoryview(value)))}
    seen = set() if seen is None else seen
    if id(value) in seen:
        raise _NotPlain("a value that contains itself")
    seen.add(id(value))
    try:
        if issubclass(kind, list):
            return [_encode(item, depth + 1, seen, other) for item in list.__iter__(value)]
        if issubclass(kind, tuple):
            return {"$tuple": [_encode(item, depth + 1, seen, other) for item in tuple.__iter__(value)]}
        if issubclass(kind, frozenset):
            return {"$frozenset": [_encode(item, depth + 1, seen, other) for item in frozenset.__iter__(value)]}
        if issubclass(kind, set):
            return {"$set": [_encode(item, depth + 1, seen, other) for item in set.__iter__(value)]}
        if issubclass(kind, dict):
            return {"$dict": [[_encode(key, depth + 1, seen, other), _encode(item, depth + 1, seen, other)]
                              for key, item in dict.items(value)]}
    finally:
        seen.discard(id(value))
    if isinstance(value, (type, type(len))) and getattr(builtins, getattr(value, "__name__", ""), None) is value:
        return {"$builtin": value.__name__}
    if other is not None:
        return other(value)
    raise _NotPlain("a " + kind.__name__ + " is not plain data")


def _builtin(name):
    value = getattr(builtins, name, None) if isinstance(name, str) else None
    if not isinstance(value, (type, type(len))):
        raise ValueError("not plain data: no built-in " + repr(name)[:40])
    return value


_TAGS = {
    "$builtin": _builtin,
    "$float": lambda text: float(text),
    "$complex": lambda parts: complex(float(parts[0]), float(parts[1])),
    "$bytes": lambda text: bytes.fromhex(text),
    "$tuple": tuple,
    "$set": set,
    "$frozenset": frozenset,
    "$dict": lambda pairs: {key: item for key, item in pairs},
}


def _decoder(reference=None):
    """The inverse of `_encode`: only plain values come out (json, then the tags above), and
    `{"$ref": …}` only through `reference`, the side's own way of naming an object. Made once
    per side: `json.loads` with hooks builds a new decoder on every call, a measurable part of
    a call's cost when a test makes hundreds of them."""

    def tagged(obj):
        if len(obj) != 1:
            raise ValueError("not plain data: an object with " + str(len(obj)) + " keys")
        ((tag, payload),) = obj.items()
        if tag == "$ref" and reference is not None:
            return reference(payload)
        decode = _TAGS.get(tag)
        if decode is None:
            raise ValueError("not plain data: unknown tag " + repr(tag)[:40])
        return decode(payload)

    return json.JSONDecoder(object_hook=tagged, parse_constant=_no_constant).decode


def _no_constant(name):
    raise ValueError("not plain data: " + name)


# What `json.dumps(..., allow_nan=False, separators=(",", ":"))` would build on every call.
_PLAIN_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def _dumps(value, other=None):
    return _PLAIN_ENCODER.encode(_encode(value, other=other))


def _reporter(nonce):
    real_stdout = sys.stdout

    def report(status, payload=None):
        line = "\n" + nonce + " " + status + ("" if payload is None else " " + payload) + "\n"
        real_stdout.write(line)
        real_stdout.flush()

    return real_stdout, report


def _compile_solution(source, report):
    try:
        return compile(source, "<solution>", "exec")
    except (SyntaxError, ValueError):
        traceback.print_exc()
        report("compile_error")
        return None


def _find(namespace, name):
    if name in namespace and callable(namespace[name]):
        return namespace[name]
    holder = namespace.get("Solution")
    if holder is not None and hasattr(holder, name):
        return getattr(holder(), name)
    return None


def _plain_json(value):
    if isinstance(value, (list, tuple)):
        return [_plain_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain_json(item) for key, item in value.items()}
    return value


def call(source, name):
    """Runs the solution, then calls `name` with the JSON arguments on stdin's second line."""
    nonce = sys.stdin.readline().strip()
    real_stdout, report = _reporter(nonce)
    try:
        code = _compile_solution(source, report)
        if code is None:
            return
        report("compiled")
        namespace = {"__name__": "__verdict_solution__", "__builtins__": builtins}
        exec(code, namespace)
        function = _find(namespace, name)
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
            report("returned", json.dumps(_plain_json(result), allow_nan=False))
        except (TypeError, ValueError):
            report("unrepresentable", json.dumps(repr(result)[:1000]))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        report("exception")
        sys.exit(1)


def serve(source):
    """The solution's side of an assert-based test: compile (reported before the solution
    runs), run, then answer requests, one line each, until stdin ends. A request is
    `["call", target, args, kwargs]`, `["getattr", target, name]` or
    `["setattr", target, name, value]`; a target is `["global", name]` or `["ref", n]`. A
    result that is not plain data stays here and crosses as a reference `{"$ref": ["ref", n]}`
    the test can call, read, write and pass back, but never compare."""
    nonce = sys.stdin.readline().strip()
    real_stdout, report = _reporter(nonce)
    code = _compile_solution(source, report)
    if code is None:
        return
    report("compiled")
    namespace = {"__name__": "__verdict_solution__", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    kept = []

    def keep(value):
        kept.append(value)
        return {"$ref": ["ref", len(kept) - 1]}

    def resolve(target):
        kind, key = target
        if kind == "ref":
            return kept[key]
        if key in namespace:
            return namespace[key]
        found = _find(namespace, key)
        if found is None:
            raise LookupError(key)
        return found

    decode = _decoder(reference=lambda target: resolve(list(target)))
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        request = decode(line)
        op, target = request[0], list(request[1])
        try:
            subject = resolve(target)
        except (LookupError, IndexError):
            report("missing_function", json.dumps(str(target[1])))
            continue
        try:
            if op == "call":
                result = subject(*request[2], **request[3])
            elif op == "getattr":
                result = getattr(subject, request[2])
            else:
                setattr(subject, request[2], request[3])
                result = None
        except SystemExit:
            raise
        except BaseException as error:
            traceback.print_exc()
            report("raised", json.dumps([type(error).__name__, str(error)[:1000]]))
            continue
        try:
            payload = _dumps(result, other=keep)
        except (_NotPlain, RecursionError, ValueError, TypeError, OverflowError) as error:
            report("unrepresentable", json.dumps(str(error)[:200] + ": " + _safe_repr(result)))
            continue
        report("returned", payload)


def _safe_repr(value):
    try:
        return object.__repr__(value)[:200]
    except BaseException:
        return "?"


class SolutionFailed(BaseException):
    """The solution's side cannot answer (it ended, or returned something that is not plain
    data): a BaseException, so that a test's `except Exception` does not swallow it."""


def _raised(name, message):
    # Only the built-in exception classes are recreated; the solution names them, so anything
    # else (and the process-ending ones) becomes a plain RuntimeError.
    kind = getattr(builtins, name, None) if isinstance(name, str) else None
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = RuntimeError
    try:
        return kind(message)
    except BaseException:
        return RuntimeError(message)


class _Remote:
    """An object of the solution, seen from the judge: it can be called, its attributes read
    and written, and it can be passed back, each a request to the solution. It has no value
    here, so it refuses to be compared, hashed, tested for truth, measured or iterated: an
    object of the solution's own class can never decide an `assert`."""

    __slots__ = ("_target", "_ask")

    def __init__(self, target, ask):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_ask", ask)

    def __call__(self, *args, **kwargs):
        return self._ask(["call", self._target, list(args), kwargs])

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ask(["getattr", self._target, name])

    def __setattr__(self, name, value):
        self._ask(["setattr", self._target, name, value])

    def __repr__(self):
        kind, key = self._target
        return "<the solution's " + (str(key) if kind == "global" else "object #" + str(key)) + ">"

    def _refuse(self, *args):
        raise TypeError("an object of the solution is not plain data: it cannot be compared, "
                        "hashed, tested for truth or iterated")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __hash__ = __len__ = __iter__ = __contains__ = _refuse
    __index__ = __int__ = __float__ = __complex__ = _refuse


def judge(test_code, entry_point):
    """Runs `check(candidate)` from `test_code`, where `candidate` is the solution's
    `entry_point` in the other instance. Prints `call` requests and reads the answers."""
    nonce = sys.stdin.readline().strip()
    real_stdout, report = _reporter(nonce)
    real_stdin = sys.stdin
    failure = []

    def reference(value):
        if type(value) is _Remote:
            return {"$ref": object.__getattribute__(value, "_target")}
        raise _NotPlain("a " + type(value).__name__ + " is not plain data")

    def ask(request):
        if failure:
            raise SolutionFailed(failure[0])
        report("call", _dumps(request, other=reference))
        answer = real_stdin.readline()
        kind, _, payload = answer.rstrip("\n").partition(" ")
        if kind == "returned":
            return decode(payload)
        if kind == "raised":
            error_name, message = json.loads(payload)
            raise _raised(error_name, message)
        # Remembered, so that a test catching every exception cannot hide it.
        failure.append((kind or "ended") + " " + payload[:200])
        raise SolutionFailed(failure[0])

    decode = _decoder(reference=lambda target: _Remote(list(target), ask))

    class Namespace(dict):
        # A name the test uses but does not define is the solution's (HumanEval's tests call
        # helpers of the prompt, such as `poly`; MBPP's build the solution's `Node`s).
        def __missing__(self, name):
            if name.startswith("__") or hasattr(builtins, name):
                raise KeyError(name)
            remote = _Remote(["global", name], ask)
            self[name] = remote
            return remote

    namespace = Namespace(__name__="__verdict_test__", __builtins__=builtins)
    try:
        exec(compile(test_code, "<test>", "exec"), namespace)
        check = dict.get(namespace, "check")
        if not callable(check):
            report("missing_function")
            return
        check(_Remote(["global", entry_point], ask))
    except AssertionError:
        traceback.print_exc()
        report("solution_failed" if failure else "assertion_failed")
        return
    except SolutionFailed as error:
        print("the solution could not answer:", error, file=sys.stderr)
        report("solution_failed")
        return
    except BaseException:
        traceback.print_exc()
        report("solution_failed" if failure else "exception")
        return
    report("solution_failed" if failure else "passed")
