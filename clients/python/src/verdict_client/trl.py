"""TRL adapter: reward functions with the `reward_funcs` signature of `GRPOTrainer`.

TRL calls every reward function of a step with the same `prompts`, `completions` and
`completion_ids` lists and the dataset's other columns as keyword lists (plus
`trainer_state`); it runs `async def` functions concurrently in its own event loop. The
functions built here share one judging per step: the first of them to be called sends the
batch, its siblings read the same results. Sharing goes by the identity of this step's lists,
never by content, so a completion repeated in a later step (or twice in a group) is judged and
stored every time it is generated.

What reaches verdict:
- the completion's text: strings as they are; for conversational completions the last
  assistant message, with `reasoning_content` put back as `<think>…</think>` and content
  blocks joined (`verdict_client.messages`);
- the label raw, from the first dataset column present of `LABEL_COLUMNS` (or the one named):
  the server reads every label shape, so conversion lives in one place;
- `group`: TRL lays a batch out as B prompts × G completions, consecutive; each run of items
  with the same prompt and label (cut every `num_generations` items when given) is one group;
- `completion_tokens` from `completion_ids`; `prompt` for the audit trail.

A `None` label gives `None` (TRL leaves `None` out of the reward), and so does a sample whose
label verdict cannot read; a failure of the service raises `VerdictError`: it is never a reward.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .client import ItemResult, VerdictClient, VerdictError
from .messages import completion_text, is_missing, prompt_text

RewardFunc = Callable[..., Any]

# Dataset columns that hold the reference, in the order they are looked for: `answer` (GSM8K,
# MATH-style sets), `solution` (open-r1's math sets), `ground_truth` (veRL-style data),
# `label`, `verification_info` (open-r1's code sets).
LABEL_COLUMNS = ("answer", "solution", "ground_truth", "label", "verification_info")

# Keyword arguments TRL passes that are not dataset columns.
_NOT_COLUMNS = {"trainer_state", "completion_ids", "log_extra", "log_metric"}


class _Round:
    """One step's batch and the judging all sibling functions read."""

    def __init__(self, completions: Sequence[Any], labels: Sequence[Any], texts: List[str], name: str):
        # Strong references: while the round is held, its lists cannot be freed and their ids
        # cannot be reused by a later step's lists.
        self.completions = completions
        self.labels = labels
        self.texts = texts
        self.served = {name}
        self.future: "concurrent.futures.Future[List[Optional[ItemResult]]]" = concurrent.futures.Future()


class _StepJudge:
    """Judges each step's batch once for all the functions built together."""

    def __init__(self, client: VerdictClient, label_column: Optional[str], num_generations: Optional[int]):
        if num_generations is not None and num_generations < 1:
            raise ValueError("num_generations must be at least 1")
        self.client = client
        self.label_column = label_column
        self.num_generations = num_generations
        self.lock = threading.Lock()
        self.round: Optional[_Round] = None

    def claim(self, name: str, completions: Sequence[Any], kwargs: Mapping[str, Any]) -> Tuple[_Round, bool, List[str]]:
        """This call's round, and whether this call must judge it."""
        labels = self.labels(kwargs, len(completions))
        texts = [completion_text(completion) for completion in completions]
        with self.lock:
            current = self.round
            if (
                current is not None
                and current.completions is completions
                and current.labels is labels
                and current.texts == texts
                and name not in current.served
            ):
                current.served.add(name)
                return current, False, texts
            fresh = _Round(completions, labels, texts, name)
            self.round = fresh
            return fresh, True, texts

    def labels(self, kwargs: Mapping[str, Any], count: int) -> Sequence[Any]:
        if self.label_column is not None:
            if self.label_column not in kwargs:
                raise KeyError(
                    f"the dataset has no `{self.label_column}` column (columns: {_columns(kwargs)}); "
                    "pass label_column=…"
                )
            column = self.label_column
        else:
            found = [name for name in LABEL_COLUMNS if name in kwargs]
            if not found:
                raise KeyError(
                    f"the dataset has none of the label columns {', '.join(LABEL_COLUMNS)} "
                    f"(columns: {_columns(kwargs)}); pass label_column=…"
                )
            column = found[0]
        labels = kwargs[column]
        if len(labels) != count:
            raise ValueError(f"column `{column}` has {len(labels)} entries for {count} completions")
        return labels

    def items(
        self,
        texts: List[str],
        labels: Sequence[Any],
        prompts: Optional[Sequence[Any]],
        completion_ids: Optional[Sequence[Any]],
        kwargs: Mapping[str, Any],
    ) -> Tuple[List[Dict[str, Any]], List[Optional[int]]]:
        count = len(texts)
        prompt_strings = [prompt_text(prompt) for prompt in prompts] if prompts is not None else [None] * count
        if len(prompt_strings) != count:
            raise ValueError(f"{len(prompt_strings)} prompts for {count} completions")
        if completion_ids is not None and len(completion_ids) != count:
            raise ValueError(f"{len(completion_ids)} completion_ids for {count} completions")
        groups = self.groups(prompt_strings, labels, _step(kwargs))
        items: List[Dict[str, Any]] = []
        slots: List[Optional[int]] = []
        for index in range(count):
            if is_missing(labels[index]):
                slots.append(None)
                continue
            item: Dict[str, Any] = {
                "id": str(index),
                "completion": texts[index],
                "label": labels[index],
                "group": groups[index],
            }
            if prompt_strings[index] is not None:
                item["prompt"] = prompt_strings[index]
            if completion_ids is not None and completion_ids[index] is not None:
                item["completion_tokens"] = len(completion_ids[index])
            slots.append(len(items))
            items.append(item)
        return items, slots

    def groups(self, prompts: List[Optional[str]], labels: Sequence[Any], step: Optional[int]) -> List[str]:
        """Group ids for TRL's layout: consecutive items with the same prompt and label."""
        ids: List[str] = []
        previous: Optional[Tuple[Optional[str], str]] = None
        run = 0
        run_length = 0
        prefix = f"step{step}-" if step is not None else ""
        for prompt, label in zip(prompts, labels):
            key = (prompt, _label_key(label))
            full = self.num_generations is not None and run_length >= self.num_generations
            if previous is None or key != previous or full:
                run += 1
                run_length = 0
            previous = key
            run_length += 1
            ids.append(f"{prefix}g{run}")
        return ids

    def judge(
        self, texts: List[str], labels: Sequence[Any], prompts: Any, completion_ids: Any, kwargs: Mapping[str, Any]
    ) -> List[Optional[ItemResult]]:
        items, slots = self.items(texts, labels, prompts, completion_ids, kwargs)
        results = self.client.rewards(items) if items else []
        return [results[slot] if slot is not None else None for slot in slots]

    async def judge_async(
        self, texts: List[str], labels: Sequence[Any], prompts: Any, completion_ids: Any, kwargs: Mapping[str, Any]
    ) -> List[Optional[ItemResult]]:
        items, slots = self.items(texts, labels, prompts, completion_ids, kwargs)
        results = await self.client.arewards(items) if items else []
        return [results[slot] if slot is not None else None for slot in slots]


def _columns(kwargs: Mapping[str, Any]) -> str:
    names = sorted(name for name in kwargs if name not in _NOT_COLUMNS)
    return ", ".join(names) if names else "none"


def _step(kwargs: Mapping[str, Any]) -> Optional[int]:
    step = getattr(kwargs.get("trainer_state"), "global_step", None)
    return step if isinstance(step, int) else None


def _label_key(label: Any) -> str:
    try:
        return json.dumps(label, sort_keys=True, default=str)
    except ValueError:  # NaN and other values JSON cannot hold
        return repr(label)


def _component(result: Optional[ItemResult], name: str) -> Optional[float]:
    if result is None or result.failure == "item":
        return None
    if result.failure == "service":
        raise VerdictError(f"verdict failed to judge a completion: {result.reason}", body=result.raw)
    if name == "reward":
        return float(result.reward) if result.reward is not None else None
    if name not in result.components:
        raise KeyError(
            f"the policy's results have no `{name}` component (they have: {', '.join(sorted(result.components))})"
        )
    return float(result.components[name])


def _build(
    url: str,
    policy: Optional[str],
    run_id: Optional[str],
    label_column: Optional[str],
    num_generations: Optional[int],
    components: Sequence[str],
    client: Optional[VerdictClient],
    asynchronous: bool,
) -> List[RewardFunc]:
    if not components:
        raise ValueError("components must name at least one of reward, accuracy, format, …")
    judge = _StepJudge(client or VerdictClient(url, policy=policy, run_id=run_id), label_column, num_generations)

    def make(name: str) -> RewardFunc:
        def reward(
            prompts: Optional[Sequence[Any]] = None,
            completions: Optional[Sequence[Any]] = None,
            completion_ids: Optional[Sequence[Any]] = None,
            **kwargs: Any,
        ) -> List[Optional[float]]:
            if completions is None:
                raise TypeError("the reward function needs `completions`")
            current, owner, texts = judge.claim(name, completions, kwargs)
            if owner:
                try:
                    current.future.set_result(judge.judge(texts, current.labels, prompts, completion_ids, kwargs))
                except BaseException as error:
                    current.future.set_exception(error)
            return [_component(result, name) for result in current.future.result()]

        async def reward_async(
            prompts: Optional[Sequence[Any]] = None,
            completions: Optional[Sequence[Any]] = None,
            completion_ids: Optional[Sequence[Any]] = None,
            **kwargs: Any,
        ) -> List[Optional[float]]:
            if completions is None:
                raise TypeError("the reward function needs `completions`")
            current, owner, texts = judge.claim(name, completions, kwargs)
            if owner:
                try:
                    results = await judge.judge_async(texts, current.labels, prompts, completion_ids, kwargs)
                    current.future.set_result(results)
                except BaseException as error:
                    current.future.set_exception(error)
            results = await asyncio.wrap_future(current.future)
            return [_component(result, name) for result in results]

        function = reward_async if asynchronous else reward
        # TRL logs each function by its name: `rewards/verdict_accuracy/mean`.
        function.__name__ = f"verdict_{name}"
        function.__qualname__ = function.__name__
        return function

    return [make(name) for name in components]


def trl_reward_funcs(
    url: str = "http://127.0.0.1:8080",
    *,
    policy: Optional[str] = None,
    run_id: Optional[str] = None,
    label_column: Optional[str] = None,
    num_generations: Optional[int] = None,
    components: Sequence[str] = ("accuracy", "format"),
    client: Optional[VerdictClient] = None,
) -> List[RewardFunc]:
    """Reward functions for `GRPOTrainer(reward_funcs=…)`, one per name in `components`
    (`accuracy` and `format` by default, weighted as the policy weighs them, so with TRL's
    default equal weights they add up to verdict's reward; `reward` is the whole reward).

    Each takes `(prompts, completions, completion_ids, **columns)` and returns one float per
    completion, or `None` where there is no label or verdict cannot read it. `label_column`
    names the reference column; by default the first of `LABEL_COLUMNS` present.
    `num_generations` (GRPOConfig's) keeps two adjacent copies of one prompt in two groups.
    """
    return _build(url, policy, run_id, label_column, num_generations, components, client, asynchronous=False)


def trl_async_reward_funcs(
    url: str = "http://127.0.0.1:8080",
    *,
    policy: Optional[str] = None,
    run_id: Optional[str] = None,
    label_column: Optional[str] = None,
    num_generations: Optional[int] = None,
    components: Sequence[str] = ("accuracy", "format"),
    client: Optional[VerdictClient] = None,
) -> List[RewardFunc]:
    """`trl_reward_funcs` as `async def` functions: TRL runs them in its reward event loop,
    concurrently with the other reward functions, while the request is in flight."""
    return _build(url, policy, run_id, label_column, num_generations, components, client, asynchronous=True)
