"""Plain HTTP helpers for the tests: requests sent the way a trainer's own client sends them,
with nothing of `verdict_client` in between, and the `/v1/rewards` reference they are held to."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, List, Optional


def run_id(prefix: str) -> str:
    """A run id no other test uses, so a test can count what the server stored for it."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def post(url: str, path: str, body: Any, timeout: float = 300) -> Dict[str, Any]:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def rewards(url: str, items: List[Dict[str, Any]], run: Optional[str] = None, policy: Optional[str] = None) -> List[Dict[str, Any]]:
    """`/v1/rewards` results for `items`, in order: the reference every adapter must equal."""
    body: Dict[str, Any] = {"items": items}
    if run:
        body["run_id"] = run
    if policy:
        body["policy"] = policy
    return post(url, "/v1/rewards", body)["results"]


def stored(url: str, run: str) -> List[Dict[str, Any]]:
    """Every submission stored for `run`, oldest first."""
    submissions: List[Dict[str, Any]] = []
    cursor = None
    while True:
        query = {"run_id": run, "limit": "1000"}
        if cursor:
            query["cursor"] = cursor
        with urllib.request.urlopen(f"{url}/v1/submissions?{urllib.parse.urlencode(query)}", timeout=60) as response:
            page = json.loads(response.read())
        submissions.extend(page["submissions"])
        cursor = page.get("next_cursor")
        if not cursor:
            return list(reversed(submissions))


def is_number(value: Any) -> bool:
    """What a trainer can turn into a tensor: an int or a float, never None or a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def accuracy(result: Dict[str, Any]) -> float:
    return 1.0 if result.get("verdict") in ("correct", "accepted") else 0.0
