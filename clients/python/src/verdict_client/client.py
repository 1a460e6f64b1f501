"""A batch client for `POST /v1/rewards`, on the standard library only.

Batches are split to the server's item limit, sent with a timeout, and retried with backoff on
connection errors, 408, 429 and 5xx. A 4xx other than those is the caller's mistake and raises
at once. Items the server could not judge come back with `error` set and `reward` None: they
must never be treated as a zero reward. `ItemResult.failure` tells a bad item (its label or
task: the dataset's problem) from a failure of the service (the sandbox, the server).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}

# Item error codes that mean the service itself failed (not the item): such an item must stop
# or be retried, never be scored. Any other code names something wrong with the item itself.
SERVICE_ERROR_CODES = {"internal_error", "sandbox_unavailable", "sandbox_error"}

# Verdicts that earn accuracy.
SUCCESS_VERDICTS = {"correct", "accepted"}


class VerdictError(RuntimeError):
    """The service refused a request or could not be reached after the retries."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class ItemResult:
    """The verdict on one item. `reward` is None when the item could not be judged."""

    id: Optional[str]
    reward: Optional[float]
    verdict: Optional[str] = None
    components: Dict[str, float] = field(default_factory=dict)
    format_ok: Optional[bool] = None
    extracted: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)
    submission_id: Optional[str] = None
    error: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ItemResult":
        return cls(
            id=data.get("id"),
            reward=data.get("reward") if "error" not in data else None,
            verdict=data.get("verdict"),
            components=dict(data.get("components") or {}),
            format_ok=data.get("format_ok"),
            extracted=data.get("extracted"),
            details=dict(data.get("details") or {}),
            submission_id=data.get("submission_id"),
            error=data.get("error"),
            raw=dict(data),
        )

    @property
    def scorable(self) -> bool:
        return self.error is None and self.reward is not None

    @property
    def failure(self) -> Optional[str]:
        """None when judged; `"item"` when the item itself cannot be judged (an empty or
        unreadable label, an unknown task kind); `"service"` when the service failed."""
        if self.scorable:
            return None
        code = str((self.error or {}).get("code", ""))
        return "service" if code in SERVICE_ERROR_CODES or not code else "item"

    @property
    def accuracy(self) -> Optional[float]:
        """1.0 for a correct answer or a program that passed every test, else 0.0; None when
        not judged. Unlike `components["accuracy"]` it does not depend on the policy's weights."""
        if not self.scorable:
            return None
        return 1.0 if self.verdict in SUCCESS_VERDICTS else 0.0

    @property
    def reason(self) -> str:
        """Why the item was not judged, in one line; empty when it was."""
        if self.scorable:
            return ""
        error = self.error or {}
        field = f" ({error['field']})" if error.get("field") else ""
        return f"{error.get('code', 'error')}: {error.get('message', 'no reward in the result')}{field}"


def math_task(answer: Any) -> Dict[str, Any]:
    """A math task: the completion's last boxed answer is compared exactly with `answer`."""
    return {"kind": "math", "answer": answer if isinstance(answer, str) else str(answer)}


def code_task(language: str, **spec: Any) -> Dict[str, Any]:
    """A code task (`tests`, `fn_name` + `cases`, or `entry_point` + `assert`; see the API docs)."""
    return {"kind": "code", "language": language, **spec}


class VerdictClient:
    """Talks to one verdict server.

    >>> client = VerdictClient("http://127.0.0.1:8080", run_id="grpo-1")
    >>> client.rewards([{"completion": "<think>…</think> \\\\boxed{4}", "task": math_task("4")}])
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8080",
        *,
        policy: Optional[str] = None,
        run_id: Optional[str] = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        batch_size: int = 512,
        api_key: Optional[str] = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url.rstrip("/")
        self.policy = policy
        self.run_id = run_id
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.api_key = api_key

    def rewards(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        policy: Optional[str] = None,
        run_id: Optional[str] = None,
    ) -> List[ItemResult]:
        """Judges `items` (dicts in the `/v1/rewards` item shape); one result per item, in order."""
        results: List[ItemResult] = []
        for start in range(0, len(items), self.batch_size):
            body: Dict[str, Any] = {"items": list(items[start : start + self.batch_size])}
            if policy or self.policy:
                body["policy"] = policy or self.policy
            if run_id or self.run_id:
                body["run_id"] = run_id or self.run_id
            reply = self._post("/v1/rewards", body)
            batch = [ItemResult.from_json(result) for result in reply["results"]]
            if len(batch) != len(body["items"]):
                raise VerdictError("the server answered a different number of results than items sent")
            results.extend(batch)
        return results

    async def arewards(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        policy: Optional[str] = None,
        run_id: Optional[str] = None,
    ) -> List[ItemResult]:
        """`rewards` for an event loop: the blocking HTTP call runs in the loop's executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.rewards(items, policy=policy, run_id=run_id))

    def verify_math(self, gold: str, prediction: str) -> Dict[str, Any]:
        """Compares one gold answer with one prediction (`POST /v1/math/verify`)."""
        return self._post("/v1/math/verify", {"gold": gold, "prediction": prediction})

    def health(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=self.timeout) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _post(self, path: str, body: Mapping[str, Any]) -> Dict[str, Any]:
        data = encode_json(body)
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        last_error: Optional[BaseException] = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            request = urllib.request.Request(self.url + path, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                payload = _read_json(error)
                if error.code not in RETRYABLE_STATUS:
                    message = (payload or {}).get("error", {}).get("message", error.reason)
                    raise VerdictError(f"{path}: {error.code} {message}", error.code, payload) from None
                last_error = error
            except (urllib.error.URLError, OSError) as error:
                last_error = error
        raise VerdictError(f"{path}: no answer after {self.retries + 1} attempts: {last_error}")


def encode_json(body: Any) -> bytes:
    """JSON for the request body. Trainers hand over numpy scalars and arrays (veRL's batches,
    datasets read through pandas); they are sent as the plain values they hold. NaN has no JSON
    form and is refused here rather than by the server."""
    try:
        return json.dumps(body, default=_plain_value, allow_nan=False).encode()
    except ValueError as error:
        raise VerdictError(f"the request cannot be sent as JSON: {error}") from None


def _plain_value(value: Any) -> Any:
    # numpy's arrays and scalars both have `tolist`; checking for it avoids importing numpy.
    to_list = getattr(value, "tolist", None)
    if callable(to_list):
        return to_list()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"a {type(value).__name__} cannot be sent to verdict as JSON")


def _read_json(error: urllib.error.HTTPError) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(error.read())
    except (ValueError, OSError):
        return None

