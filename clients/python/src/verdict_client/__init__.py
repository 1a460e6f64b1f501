"""Client for the verdict reward service.

`VerdictClient` batches items to `POST /v1/rewards`; `trl_reward_funcs` and `verl_compute_score`
adapt it to TRL's `reward_funcs` and veRL's `compute_score` signatures.
"""

from .client import ItemResult, VerdictClient, VerdictError, code_task, math_task
from .trl import trl_reward_funcs
from .verl import compute_score, verl_compute_score

__all__ = [
    "ItemResult",
    "VerdictClient",
    "VerdictError",
    "code_task",
    "compute_score",
    "math_task",
    "trl_reward_funcs",
    "verl_compute_score",
]
