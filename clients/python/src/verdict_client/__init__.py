"""Client for the verdict reward service.

`VerdictClient` batches items to `POST /v1/rewards`; `trl_reward_funcs` (and its `async def`
twin) adapt it to TRL's `reward_funcs`, and `verdict_client.verl` holds the `compute_score`
functions veRL's `custom_reward_function` loads (by path or as `pkg://verdict_client.verl`).
"""

from .client import ItemResult, VerdictClient, VerdictError, code_task, math_task
from .trl import LABEL_COLUMNS, trl_async_reward_funcs, trl_reward_funcs
from .verl import (
    VerlScorer,
    compute_score,
    compute_score_async,
    compute_score_batch,
    compute_score_batch_async,
    verl_compute_score,
)

__all__ = [
    "ItemResult",
    "LABEL_COLUMNS",
    "VerdictClient",
    "VerdictError",
    "VerlScorer",
    "code_task",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "compute_score_batch_async",
    "math_task",
    "trl_async_reward_funcs",
    "trl_reward_funcs",
    "verl_compute_score",
]
