"""Turning dataset columns into verdict tasks, shared by the TRL and veRL adapters."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping

from .client import math_task


def task_from_label(label: Any) -> Dict[str, Any]:
    """A reference answer (`"0.5"`, `42`) becomes a math task; a dict or a JSON object string
    with a `kind` (or code-test fields) is taken as a full task."""
    if isinstance(label, Mapping):
        return _as_task(dict(label))
    if isinstance(label, str):
        text = label.strip()
        if text.startswith("{"):
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                return _as_task(decoded)
        return math_task(label)
    return math_task(str(label))


def _as_task(task: Dict[str, Any]) -> Dict[str, Any]:
    if "kind" in task:
        return task
    if any(key in task for key in ("tests", "cases", "assert", "fn_name", "entry_point")):
        return {"kind": "code", **task}
    if "answer" in task:
        return math_task(task["answer"])
    raise ValueError(f"cannot tell the task kind of {task!r}")


def text_of(message: Any) -> str:
    """TRL passes plain strings or conversations (lists of `{"role", "content"}` messages)."""
    if isinstance(message, str):
        return message
    if isinstance(message, Mapping):
        return str(message.get("content", ""))
    if isinstance(message, (list, tuple)):
        return "".join(text_of(part) for part in message)
    return str(message)
