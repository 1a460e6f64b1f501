"""veRL adapter: `compute_score` functions for `custom_reward_function`.

veRL loads this file either by path (`custom_reward_function.path=…/verdict_client/verl.py`,
through `importlib.util.spec_from_file_location`, so the module has no package and relative
imports fail) or by package (`path=pkg://verdict_client.verl`). Both work: the imports below are
absolute, and when the package is not installed the folder above this file is put on
`sys.path` so the checkout's own copy is found.

Which function to name in `custom_reward_function.name`, by `reward_model.reward_manager`:
- `naive` (the default), `dapo`: `compute_score` (one sample per call); `rate_limited` and the
  reward loop: `compute_score` or `compute_score_async` (they await an `async def`);
- `batch`: `compute_score_batch` (the whole batch in one request);
- `prime`: `compute_score` with `reward_kwargs.return_dict=false` — prime reads only numbers
  (it cannot read a dict), and scores any exception as 0.0 itself.

Each returns `{"score", "acc", "format", "pred", "judged", "error", "verdict"}`: `score` is
verdict's reward, `acc` the accuracy (1.0 when the answer is correct or every test passed,
whatever the policy's weights), `format` 1.0 when the R1 layout holds, `pred` the extracted
answer (veRL votes on it for `maj@N`), `judged` 1.0, `error` empty, `verdict` verdict's word. veRL logs every key (validation: `val-core/<source>/acc/mean@N`,
`val-aux/<source>/judged/mean@N`). The keys are the same for every sample, since veRL collects
each key into one column per batch.

A sample whose label cannot be judged (empty, unreadable, no task kind) gets
`{"score": fallback, "acc": 0.0, "format": 0.0, "pred": "", "judged": 0.0, "error": reason,
"verdict": ""}` and a logged warning; `reward_kwargs.unjudged=raise` raises `VerdictError` instead. A failure of the
service (sandbox, server, network) always raises: it is never scored. What veRL then does with
the exception is the manager's choice: `naive`, `dapo` and `batch` fail the step; `rate_limited`
and `prime` catch it and score 0.0, logging the error.

Settings, first found wins: `reward_kwargs` (`url`, `policy`, `run_id`, `unjudged`, `fallback`,
`return_dict`), then the environment (`VERDICT_URL`, `VERDICT_POLICY`, `VERDICT_RUN_ID`), then
the defaults (`http://127.0.0.1:8080`, the server's default policy). Other keyword arguments
veRL passes (`reward_router_address`, …) are accepted and ignored.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

try:
    from verdict_client.client import ItemResult, VerdictClient, VerdictError
    from verdict_client.messages import is_missing
except ImportError:  # loaded by path from a checkout where the package is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from verdict_client.client import ItemResult, VerdictClient, VerdictError
    from verdict_client.messages import is_missing

Score = Union[float, Dict[str, Any]]

logger = logging.getLogger("verdict_client.verl")

DEFAULT_URL = "http://127.0.0.1:8080"
UNJUDGED_MODES = ("report", "raise")


class VerlScorer:
    """Scores veRL samples against one verdict server.

    `unjudged` is `"report"` (a sample whose label cannot be judged gets `fallback` with
    `judged: 0.0` and the reason) or `"raise"`. `return_dict=False` returns only the number.
    """

    def __init__(
        self,
        client: VerdictClient,
        *,
        unjudged: str = "report",
        fallback: float = 0.0,
        return_dict: bool = True,
    ):
        if unjudged not in UNJUDGED_MODES:
            raise ValueError(f"unjudged must be one of {UNJUDGED_MODES}, not {unjudged!r}")
        self.client = client
        self.unjudged = unjudged
        self.fallback = float(fallback)
        self.return_dict = return_dict

    def score(self, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None) -> Score:
        return self.score_batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    async def score_async(
        self, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None
    ) -> Score:
        [result] = await self.score_batch_async([data_source], [solution_str], [ground_truth], [extra_info])
        return result

    def score_batch(
        self,
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Optional[Sequence[Any]] = None,
    ) -> List[Score]:
        items, slots = self._items(data_sources, solution_strs, ground_truths, extra_infos)
        results = self.client.rewards(items) if items else []
        return self._scores(len(solution_strs), slots, results)

    async def score_batch_async(
        self,
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Optional[Sequence[Any]] = None,
    ) -> List[Score]:
        items, slots = self._items(data_sources, solution_strs, ground_truths, extra_infos)
        results = await self.client.arewards(items) if items else []
        return self._scores(len(solution_strs), slots, results)

    def _items(
        self,
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Optional[Sequence[Any]],
    ) -> Tuple[List[Dict[str, Any]], List[Optional[int]]]:
        count = len(solution_strs)
        if extra_infos is None:
            extra_infos = [None] * count
        for name, values in (("data_sources", data_sources), ("ground_truths", ground_truths), ("extra_infos", extra_infos)):
            if len(values) != count:
                raise ValueError(f"{name} has {len(values)} entries but solution_strs has {count}")
        items: List[Dict[str, Any]] = []
        # For each sample, the index of its item in the request; None when it has no label.
        slots: List[Optional[int]] = []
        for data_source, solution, label, extra in zip(data_sources, solution_strs, ground_truths, extra_infos):
            if not isinstance(solution, str):
                raise TypeError(f"solution_str must be a string, not {type(solution).__name__}")
            if is_missing(label):
                slots.append(None)
                continue
            # The label goes as the dataset holds it: the server reads every label shape (math
            # answers, numbers, task objects, APPS and open-r1 test cases) in one place.
            item: Dict[str, Any] = {"completion": solution, "label": label}
            index = extra.get("index") if isinstance(extra, Mapping) else None
            if index is not None:
                item["id"] = f"{data_source}:{index}"
            slots.append(len(items))
            items.append(item)
        return items, slots

    def _scores(self, count: int, slots: List[Optional[int]], results: List[ItemResult]) -> List[Score]:
        scores: List[Score] = []
        for position in range(count):
            slot = slots[position]
            result = results[slot] if slot is not None else None
            scores.append(self._score(result))
        return scores

    def _score(self, result: Optional[ItemResult]) -> Score:
        if result is None:
            return self._unjudged("no ground_truth: the sample has no label to judge against")
        if result.failure == "service":
            raise VerdictError(f"verdict failed to judge a sample: {result.reason}", body=result.raw)
        if result.failure == "item":
            return self._unjudged(result.reason)
        score = float(result.reward if result.reward is not None else self.fallback)
        if not self.return_dict:
            return score
        return {
            "score": score,
            "acc": float(result.accuracy or 0.0),
            "format": 1.0 if result.format_ok else 0.0,
            "pred": result.extracted or "",
            "judged": 1.0,
            "error": "",
            "verdict": result.verdict or "",
        }

    def _unjudged(self, reason: str) -> Score:
        if self.unjudged == "raise":
            raise VerdictError(f"verdict cannot judge this sample: {reason}")
        logger.warning("verdict cannot judge a sample, scored %s: %s", self.fallback, reason)
        if not self.return_dict:
            return self.fallback
        return {
            "score": self.fallback,
            "acc": 0.0,
            "format": 0.0,
            "pred": "",
            "judged": 0.0,
            "error": reason,
            "verdict": "",
        }


def verl_compute_score(
    url: str = DEFAULT_URL,
    *,
    policy: Optional[str] = None,
    run_id: Optional[str] = None,
    return_dict: bool = True,
    unjudged: str = "report",
    fallback: float = 0.0,
    client: Optional[VerdictClient] = None,
) -> Callable[..., Score]:
    """Builds a veRL `compute_score(data_source, solution_str, ground_truth, extra_info=None,
    **kwargs)` bound to one server, for a reward file of your own."""
    scorer = VerlScorer(
        client or VerdictClient(url, policy=policy, run_id=run_id),
        unjudged=unjudged,
        fallback=fallback,
        return_dict=return_dict,
    )

    def compute_score(
        data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any
    ) -> Score:
        return scorer.score(data_source, solution_str, ground_truth, extra_info)

    return compute_score


_scorers: Dict[Tuple[Any, ...], VerlScorer] = {}
_scorers_lock = threading.Lock()


def _scorer(kwargs: Mapping[str, Any]) -> VerlScorer:
    """The scorer for these `reward_kwargs` and the environment, built once per setting."""
    url = kwargs.get("url") or os.environ.get("VERDICT_URL") or DEFAULT_URL
    policy = kwargs.get("policy") or os.environ.get("VERDICT_POLICY") or None
    run_id = kwargs.get("run_id") or os.environ.get("VERDICT_RUN_ID") or None
    unjudged = str(kwargs.get("unjudged", "report"))
    fallback = float(kwargs.get("fallback", 0.0))
    return_dict = _flag(kwargs.get("return_dict", True))
    key = (url, policy, run_id, unjudged, fallback, return_dict)
    with _scorers_lock:
        scorer = _scorers.get(key)
        if scorer is None:
            client = VerdictClient(url, policy=policy, run_id=run_id)
            scorer = VerlScorer(client, unjudged=unjudged, fallback=fallback, return_dict=return_dict)
            _scorers[key] = scorer
        return scorer


def _flag(value: Any) -> bool:
    # Hydra hands `return_dict=false` over as a bool, a shell override may leave a string.
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> Score:
    """One sample, for the `naive`, `dapo`, `prime` and `rate_limited` managers."""
    return _scorer(kwargs).score(data_source, solution_str, ground_truth, extra_info)


async def compute_score_async(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> Score:
    """One sample as a coroutine, for managers that await an `async def` (`rate_limited`, the
    reward loop): the HTTP call runs in the loop's executor, so other samples proceed."""
    return await _scorer(kwargs).score_async(data_source, solution_str, ground_truth, extra_info)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Optional[Sequence[Any]] = None,
    **kwargs: Any,
) -> List[Score]:
    """The whole batch in one request, for `reward_model.reward_manager=batch`; one result
    per sample, in order."""
    return _scorer(kwargs).score_batch(data_sources, solution_strs, ground_truths, extra_infos)


async def compute_score_batch_async(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Optional[Sequence[Any]] = None,
    **kwargs: Any,
) -> List[Score]:
    """`compute_score_batch` as a coroutine."""
    return await _scorer(kwargs).score_batch_async(data_sources, solution_strs, ground_truths, extra_infos)


__all__ = [
    "VerlScorer",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "compute_score_batch_async",
    "verl_compute_score",
]
