"""verdict's Python runner, built into a pre-initialised component by componentize-py.

Everything imported here is snapshotted at build time, so a fresh instance starts with these
modules already loaded; a module not imported here cannot be imported at run time (the
component carries only what was loaded when it was built). The list covers what HumanEval,
MBPP and competitive-programming solutions import.

Built from this folder with componentize-py 0.25.1:
    componentize-py -d wit -w python-runner componentize app -o python-runner.wasm
The host calls `run(code)` on a fresh instance per test, with stdin/stdout/stderr as WASI p2
streams, and reads the returned status (see wit/runner.wit).
"""

import abc, array, base64, binascii, bisect, builtins, calendar, cmath, collections
import collections.abc, contextlib, copy, dataclasses, datetime, decimal, difflib, enum
import fractions, functools, hashlib, heapq, io, itertools, json, math, numbers, operator
import os, pprint, queue, random, re, statistics, string, struct, sys, textwrap, time
import traceback, types, typing, unicodedata, warnings, weakref

import wit_world

COMPILE_ERROR = -1


def _exit_status(e: SystemExit) -> int:
    # As CPython's own handling of SystemExit at interpreter exit.
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


class WitWorld(wit_world.WitWorld):
    def run(self, code: str) -> int:
        try:
            compiled = compile(code, "<string>", "exec")
        except (SyntaxError, ValueError) as e:
            sys.stderr.write("".join(traceback.format_exception_only(e)))
            sys.stderr.flush()
            return COMPILE_ERROR
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        sys.argv[:] = ["-c"]
        try:
            exec(compiled, main.__dict__)
            status = 0
        except SystemExit as e:
            status = _exit_status(e)
        except BaseException as e:
            e.__traceback__ = e.__traceback__.tb_next
            sys.excepthook(type(e), e, e.__traceback__)
            status = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            # Past the output cap: the host already knows and reports it.
            pass
        return status
