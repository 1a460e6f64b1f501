"""verdict's Python runner, built into a pre-initialised component by componentize-py.

Everything imported here is snapshotted at build time, so a fresh instance starts with these
modules already loaded; a module not imported here cannot be imported at run time (the
component carries only what was loaded when it was built).

Built from this folder (app.py, verdict_harness.py, wit/) with componentize-py 0.25.1:
    componentize-py -d wit -w python-runner componentize app -o python-runner.wasm
The host calls `run(code)` on a fresh instance per test, with stdin/stdout/stderr as WASI p2
streams, and reads the returned status (see wit/runner.wit).
"""

# What HumanEval, MBPP and competitive-programming solutions import.
import abc, array, base64, binascii, bisect, builtins, calendar, cmath, collections
import collections.abc, contextlib, copy, dataclasses, datetime, decimal, difflib, enum
import fractions, functools, hashlib, heapq, io, itertools, json, math, numbers, operator
import os, pprint, queue, random, re, statistics, string, struct, sys, textwrap, time
import traceback, types, typing, unicodedata, warnings, weakref

# The rest of the standard library that imports under WASI, so that ordinary programs never
# meet a module missing from the snapshot (measured: 300 modules loaded still start a fresh
# instance in ~2 ms, copy-on-write). What is left (bz2, lzma, ctypes, mmap need native parts
# this CPython lacks; modules removed after 3.12) falls back to python.wasm on the host side.
import argparse, ast, asyncio, codecs, colorsys, concurrent.futures, configparser
import contextvars, copyreg, csv, dis, doctest, email, email.message, encodings.idna
import filecmp, fileinput, fnmatch, getopt, gettext, glob, graphlib, gzip, hmac, html
import html.parser, http, inspect, ipaddress, keyword, linecache, locale, logging
import mimetypes, optparse, pathlib, pickle, platform, plistlib, quopri, reprlib, sched
import secrets, shlex, shutil, sqlite3, stringprep, tempfile, threading, timeit, tokenize
import tomllib, unittest, urllib, urllib.parse, uuid, xml, xml.dom.minidom
import xml.etree.ElementTree, zipfile, zlib, zoneinfo
# Imported so that what a program does with them meets the sandbox's refusals (no sockets, no
# processes, no signals), exactly as in a native interpreter without permissions.
import bdb, cProfile, code, codeop, multiprocessing, netrc, ntpath, pdb, posixpath, profile
import pstats, select, selectors, signal, socket, subprocess, wave

import wit_world

# The call/assert test driver, compiled once here rather than with every test program.
import verdict_harness

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
