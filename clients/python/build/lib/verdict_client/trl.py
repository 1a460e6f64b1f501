"""TRL adapter: reward functions with the `reward_funcs` signature of `GRPOTrainer`.

TRL calls each reward function separately with the same batch; the two functions returned here
share one judging per batch, so each completion is judged (and audited) once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .client import ItemResult, VerdictClient
from .tasks import task_from_label, text_of

RewardFunc = Callable[..., List[Optional[float]]]


class _SharedJudge:
    """Judges a batch once and remembers the results for the sibling reward function."""

    def __init__(self, client: VerdictClient, capacity: int = 16384):
        self.client = client
        self.capacity = capacity
        self.cache: "OrderedDict[Tuple[str, str, str], ItemResult]" = OrderedDict()

    def judge(self, prompts: Sequence[Any], completions: Sequence[Any], tasks: Sequence[Dict[str, Any]]) -> List[ItemResult]:
        keys = [
            (text_of(prompt) if prompt is not None else "", text_of(completion), json.dumps(task, sort_keys=True))
            for prompt, completion, task in zip(prompts, completions, tasks)
        ]
        missing = [index for index, key in enumerate(keys) if key not in self.cache]
        if missing:
            items = [
                {"id": str(index), "prompt": keys[index][0], "completion": keys[index][1], "task": tasks[index]}
                for index in missing
            ]
            for index, result in zip(missing, self.client.rewards(items)):
                self.cache[keys[index]] = result
                self.cache.move_to_end(keys[index])
            while len(self.cache) > self.capacity:
                self.cache.popitem(last=False)
        return [self.cache[key] for key in keys]


def trl_reward_funcs(
    url: str = "http://127.0.0.1:8080",
    *,
    policy: Optional[str] = None,
    run_id: Optional[str] = None,
    label_column: str = "answer",
    client: Optional[VerdictClient] = None,
) -> List[RewardFunc]:
    """Returns `[accuracy, format]` reward functions for `GRPOTrainer(reward_funcs=…)`.

    Each takes `(prompts, completions, **kwargs)` and returns one float per completion, or
    `None` for a completion the service could not judge (TRL ignores `None`; a 0 would teach
    the model from an infrastructure failure). The reference comes from the dataset column
    `label_column` (a math answer, or a code task as a dict or JSON string).
    """
    judge = _SharedJudge(client or VerdictClient(url, policy=policy, run_id=run_id))

    def component(name: str) -> RewardFunc:
        def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> List[Optional[float]]:
            if label_column not in kwargs:
                raise KeyError(f"the dataset has no `{label_column}` column; pass label_column=…")
            tasks = [task_from_label(label) for label in kwargs[label_column]]
            prompt_list = list(prompts) if prompts is not None else [None] * len(completions)
            results = judge.judge(prompt_list, completions, tasks)
            return [result.components.get(name) if result.scorable else None for result in results]

        reward.__name__ = f"verdict_{name}"
        return reward

    return [component("accuracy"), component("format")]
