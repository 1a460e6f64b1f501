"""veRL adapter: `compute_score(data_source, solution_str, ground_truth, extra_info)`.

veRL's reward managers call this once per sample and expect a number (or a dict with
`score`). A sample the service cannot judge raises `VerdictError` instead of scoring 0, so an
infrastructure failure is seen, not learned from.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Union

from .client import VerdictClient, VerdictError
from .tasks import task_from_label

Score = Union[float, Dict[str, Any]]


def verl_compute_score(
    url: str = "http://127.0.0.1:8080",
    *,
    policy: Optional[str] = None,
    run_id: Optional[str] = None,
    return_dict: bool = False,
    client: Optional[VerdictClient] = None,
) -> Callable[..., Score]:
    """Builds a veRL `compute_score`. With `return_dict`, it returns
    `{"score", "acc", "format", "verdict"}` so veRL logs the parts too."""
    verdict = client or VerdictClient(url, policy=policy, run_id=run_id)

    def compute_score(
        data_source: Any, solution_str: str, ground_truth: Any, extra_info: Optional[Dict[str, Any]] = None
    ) -> Score:
        item: Dict[str, Any] = {"completion": solution_str, "task": task_from_label(ground_truth)}
        if extra_info and extra_info.get("index") is not None:
            item["id"] = f"{data_source}:{extra_info['index']}"
        [result] = verdict.rewards([item])
        if not result.scorable:
            raise VerdictError(f"verdict could not judge this sample: {result.error}")
        if not return_dict:
            return float(result.reward)
        return {
            "score": float(result.reward),
            "acc": float(result.verdict in ("correct", "accepted")),
            "format": float(bool(result.format_ok)),
            "verdict": result.verdict,
        }

    return compute_score


_default: Optional[Callable[..., Score]] = None


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: Optional[Dict[str, Any]] = None) -> Score:
    """Module-level `compute_score` for veRL's `custom_reward_function.path`/`name` setting.

    Reads `VERDICT_URL` (default `http://127.0.0.1:8080`), `VERDICT_POLICY` and `VERDICT_RUN_ID`.
    """
    global _default
    if _default is None:
        _default = verl_compute_score(
            os.environ.get("VERDICT_URL", "http://127.0.0.1:8080"),
            policy=os.environ.get("VERDICT_POLICY") or None,
            run_id=os.environ.get("VERDICT_RUN_ID") or None,
        )
    return _default(data_source, solution_str, ground_truth, extra_info)
