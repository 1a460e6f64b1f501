"""Conformance: each trainer's requests, built the way that trainer's own client builds them,
against a real server, held to `/v1/rewards` for the same items.

- OpenRLHF (0.11, `--reward.remote_url`): decodes with special tokens kept, so a query is the
  templated prompt + the response + `<|im_end|>`; its agent loop posts one sample per request,
  many in flight, and turns `rewards`, `scores` and every `extra_logs` list into tensors.
- veRL (0.9, `custom_reward_function`): loads the reward file by path with
  `importlib.util.spec_from_file_location` (no package, so no relative imports) or by
  `pkg://`, calls it with keyword arguments plus the config's `reward_kwargs`, the batch
  manager with plural names; the default manager collects every key of a dict result.
- slime (`--rm-type remote_rm`): one `{prompt, response, label}` per sample, the JSON answer
  kept and read under `--reward-key`.
- TRL (1.16, `GRPOTrainer`): calls each reward function with `prompts`, `completions`,
  `completion_ids`, the dataset's other columns and `trainer_state`; conversational
  completions are message lists, with `reasoning_content` when a response schema parsed the
  reasoning out; a batch is B prompts × G completions, consecutive.

Each test of a failure the trainers' clients met before (issue 17) names it.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import accuracy, is_number, post, rewards, run_id, stored

import verdict_client
from verdict_client import VerdictClient, VerdictError, trl_async_reward_funcs, trl_reward_funcs
from verdict_client.client import ItemResult
from verdict_client.verl import VerlScorer

GOOD_MATH = "<think>2+2 is 4</think> The answer is \\boxed{4}"
WRONG_MATH = "<think>2+2 is 5</think> The answer is \\boxed{5}"
UNFORMATTED_MATH = "The answer is \\boxed{4}"
GOOD_CODE = "<think>read two numbers, print the sum</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
WRONG_CODE = "<think>read two numbers, print the difference</think>\n```python\na, b = map(int, input().split())\nprint(a - b)\n```"

# Code labels in the shapes datasets hold them: APPS / veRL / PRIME (a JSON string or an
# object) and open-r1's `verification_info`.
APPS_LABEL = json.dumps({"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]})
APPS_OBJECT = {"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]}
OPEN_R1_LABEL = {
    "language": "python",
    "test_cases": [
        {"input": "1 2\n", "output": "3\n", "type": "stdin_stdout"},
        {"input": "10 -3\n", "output": "7\n", "type": "stdin_stdout"},
    ],
}

CHATML = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
MATH_PROMPT = CHATML.format("What is 2+2? Put the answer in \\boxed{}.")
CODE_PROMPT = CHATML.format("Read two integers and print their sum.")
END_OF_TURN = "<|im_end|>"


# ---------------------------------------------------------------------------------------------
# OpenRLHF: POST /get_reward
# ---------------------------------------------------------------------------------------------


def openrlhf_request(url, run, queries, prompts, labels):
    """One call of OpenRLHF's remote reward client: lists of query, prompt and label."""
    return post(url, f"/get_reward?run_id={run}", {"query": queries, "prompts": prompts, "labels": labels})


def openrlhf_rollout(url, run, samples, in_flight=64):
    """A rollout as OpenRLHF's agent loop scores it: one request per sample, `in_flight` at once."""
    with ThreadPoolExecutor(in_flight) as pool:
        return list(
            pool.map(lambda sample: openrlhf_request(url, run, [sample[1] + sample[2] + END_OF_TURN], [sample[1]], [sample[3]]), samples)
        )


def assert_tensor_ready(reply, count):
    """Everything OpenRLHF turns into a tensor holds `count` numbers."""
    assert len(reply["rewards"]) == len(reply["scores"]) == count
    assert all(is_number(value) for value in reply["rewards"] + reply["scores"]), reply
    for name, values in reply["extra_logs"].items():
        assert len(values) == count, name
        assert all(is_number(value) for value in values), (name, values)


def test_openrlhf_pays_correct_programs_whose_fence_is_followed_by_the_end_of_turn_token(verdict_url):
    # Issue 17: every correct program got 0 — the fence closing the code was followed by
    # `<|im_end|>`, so no closed block was found.
    run = run_id("openrlhf-code")
    samples = [
        (f"s{index}", CODE_PROMPT, completion, label)
        for index, label in enumerate([APPS_LABEL, APPS_OBJECT, OPEN_R1_LABEL, json.dumps(OPEN_R1_LABEL)])
        for completion in (GOOD_CODE, WRONG_CODE)
    ]
    replies = openrlhf_rollout(verdict_url, run, samples)
    reference = rewards(verdict_url, [{"completion": completion, "label": label} for _, _, completion, label in samples])
    for (_, _, completion, _), reply, expected in zip(samples, replies, reference):
        assert_tensor_ready(reply, 1)
        assert reply["rewards"] == [expected["reward"]]
        assert reply["scores"] == [accuracy(expected)]
        assert expected["kind"] == "code"
        if completion is GOOD_CODE:
            assert expected["verdict"] == "accepted" and expected["reward"] == 2.0
        else:
            assert expected["verdict"] == "wrong_answer" and expected["reward"] == 1.0


def test_openrlhf_mixed_rollout_one_sample_per_request_matches_the_rewards_endpoint(verdict_url):
    run = run_id("openrlhf-mixed")
    math = [(MATH_PROMPT, completion, label) for completion in (GOOD_MATH, WRONG_MATH, UNFORMATTED_MATH) for label in ("4", 4)]
    code = [(CODE_PROMPT, completion, label) for completion in (GOOD_CODE, WRONG_CODE) for label in (APPS_LABEL, OPEN_R1_LABEL)]
    samples = [(f"s{index}",) + sample for index, sample in enumerate((math + code) * 3)]
    replies = openrlhf_rollout(verdict_url, run, samples)
    reference = rewards(verdict_url, [{"completion": completion, "label": label} for _, _, completion, label in samples])
    assert [reply["rewards"][0] for reply in replies] == [result["reward"] for result in reference]
    assert [reply["scores"][0] for reply in replies] == [accuracy(result) for result in reference]
    assert all(reply["extra_logs"]["judged"] == [1] for reply in replies)
    # Every sample was stored once, under the run.
    assert len(stored(verdict_url, run)) == len(samples)


def test_openrlhf_unjudgeable_queries_get_numbers_and_their_reasons(verdict_url):
    # Issue 17: one sample verdict could not judge made `/get_reward` answer `null`, and
    # OpenRLHF died on "Could not infer dtype of NoneType".
    run = run_id("openrlhf-unjudgeable")
    query = MATH_PROMPT + GOOD_MATH + END_OF_TURN
    cases = [
        ([query], [MATH_PROMPT], [""]),  # empty label
        ([query], [MATH_PROMPT], ["\\frac{"]),  # unparsable label
        ([query], [MATH_PROMPT], [{"reference": "4"}]),  # an object with no task kind
        ([MATH_PROMPT[7:] + GOOD_MATH + END_OF_TURN], [MATH_PROMPT + "x"], ["4"]),  # the query lacks its prompt
    ]
    for queries, prompts, labels in cases:
        reply = openrlhf_request(verdict_url, run, queries, prompts, labels)
        assert_tensor_ready(reply, 1)
        assert reply["extra_logs"]["judged"] == [0], (labels, reply)
        assert reply["rewards"] == [0] and reply["scores"] == [0]
        assert len(reply["errors"]) == 1, reply
    # In one request with a judgeable query, only the bad ones are set apart.
    reply = openrlhf_request(
        verdict_url,
        run,
        [query] * 4,
        [MATH_PROMPT] * 4,
        ["", "4", {"reference": "4"}, "\\frac{"],
    )
    assert_tensor_ready(reply, 4)
    assert reply["extra_logs"]["judged"] == [0, 1, 0, 0]
    assert reply["rewards"] == [0, 2.0, 0, 0]
    assert len(reply["errors"]) == 3


def test_openrlhf_labels_of_every_json_type_are_judged_as_the_rewards_endpoint_judges_them(verdict_url):
    # Issue 17: a numeric label (`42`) or a list label was a 422 for the whole request.
    run = run_id("openrlhf-labels")
    completions = ["<think>6*7</think> \\boxed{42}", "<think>half</think> \\boxed{0.5}", "<think>3*4</think> \\boxed{12}"]
    # A list wrapping one reference, as many datasets write it.
    labels = [42, 0.5, ["12"]]
    reply = openrlhf_request(verdict_url, run, [MATH_PROMPT + c + END_OF_TURN for c in completions], [MATH_PROMPT] * 3, labels)
    assert_tensor_ready(reply, 3)
    reference = rewards(verdict_url, [{"completion": c, "label": label} for c, label in zip(completions, labels)])
    assert reply["rewards"] == [result["reward"] for result in reference] == [2.0, 2.0, 2.0]


def test_openrlhf_scores_are_the_accuracy_not_the_reward(verdict_url):
    # Issue 17: `scores` was the reward (0–2) where dynamic filtering expects [0, 1].
    reply = openrlhf_request(
        verdict_url,
        run_id("openrlhf-scores"),
        [MATH_PROMPT + c + END_OF_TURN for c in (GOOD_MATH, WRONG_MATH, UNFORMATTED_MATH)],
        [MATH_PROMPT] * 3,
        ["4"] * 3,
    )
    assert reply["rewards"] == [2.0, 1.0, 1.0]
    assert reply["scores"] == [1.0, 0.0, 1.0]


def test_openrlhf_empty_lists_get_empty_lists(verdict_url):
    reply = openrlhf_request(verdict_url, run_id("openrlhf-empty"), [], [], [])
    assert reply["rewards"] == [] and reply["scores"] == []
    assert all(values == [] for values in reply["extra_logs"].values())


def test_openrlhf_think_opened_by_the_chat_template_is_read_from_the_prompt(verdict_url):
    # Issue 17: templates that open `<think>` (DeepSeek-R1-Distill, QwQ) gave format 0.
    prompt = MATH_PROMPT + "<think>\n"
    response = "2+2 is 4\n</think>\n\nThe answer is \\boxed{4}"
    reply = openrlhf_request(verdict_url, run_id("openrlhf-think"), [prompt + response + END_OF_TURN], [prompt], ["4"])
    [expected] = rewards(verdict_url, [{"prompt": prompt, "completion": response, "label": "4"}])
    assert expected["format_ok"] is True
    assert reply["rewards"] == [expected["reward"]] == [2.0]


def test_openrlhf_whole_rollout_in_one_request_past_the_item_and_body_limits_is_judged(verdict_url):
    # Issue 17: older OpenRLHF sends a whole rollout in one request and met the 4,096-item and
    # 32 MiB limits.
    run = run_id("openrlhf-whole")
    count = 4200
    # Long prompts, as a rollout of few-shot prompts has them: the body passes 32 MiB.
    prompt = CHATML.format("Worked examples follow. " + "x" * 8000 + " What is 2+2?")
    completions = [GOOD_MATH if index % 3 else WRONG_MATH for index in range(count)]
    body = {"query": [prompt + c + END_OF_TURN for c in completions], "prompts": [prompt] * count, "labels": ["4"] * count}
    assert len(json.dumps(body)) > 32 * 1024 * 1024
    reply = post(verdict_url, f"/get_reward?run_id={run}", body, timeout=900)
    assert_tensor_ready(reply, count)
    assert reply["rewards"] == [2.0 if index % 3 else 1.0 for index in range(count)]
    assert reply["extra_logs"]["judged"] == [1] * count


def test_openrlhf_retry_of_a_timed_out_request_gets_the_stored_results(verdict_url):
    # Issue 17: when a client timed out the work was dropped, so each retry started over.
    run = run_id("openrlhf-retry")
    body = {
        "query": [MATH_PROMPT + c + END_OF_TURN for c in (GOOD_MATH, WRONG_MATH, UNFORMATTED_MATH)],
        "prompts": [MATH_PROMPT] * 3,
        "labels": ["4"] * 3,
    }
    first = post(verdict_url, f"/get_reward?run_id={run}", body)
    again = post(verdict_url, f"/get_reward?run_id={run}", body)
    assert again["rewards"] == first["rewards"] == [2.0, 1.0, 1.0]
    assert again["submission_ids"] == first["submission_ids"]
    assert len(stored(verdict_url, run)) == 3


def test_slime_remote_rm_sample_reads_the_reward_key_and_never_fails_a_bad_label(verdict_url):
    # slime's `remote_rm` posts one `{prompt, response, label}` and keeps the JSON; with
    # `--reward-key reward` it reads `reward`. A non-200 would be retried and stop the job.
    run = run_id("slime")
    samples = [(MATH_PROMPT, GOOD_MATH, "4"), (MATH_PROMPT, WRONG_MATH, 4), (CODE_PROMPT, GOOD_CODE, APPS_LABEL)]
    replies = [post(verdict_url, f"/slime/reward?run_id={run}", {"prompt": p, "response": r, "label": label}) for p, r, label in samples]
    reference = rewards(verdict_url, [{"prompt": p, "completion": r, "label": label} for p, r, label in samples])
    assert [reply["reward"] for reply in replies] == [result["reward"] for result in reference] == [2.0, 1.0, 2.0]
    assert [reply["judged"] for reply in replies] == [1, 1, 1]
    bad = post(verdict_url, f"/slime/reward?run_id={run}", {"prompt": MATH_PROMPT, "response": GOOD_MATH, "label": None})
    assert is_number(bad["reward"]) and bad["judged"] == 0 and bad["error"]
    assert len(stored(verdict_url, run)) == 3


# ---------------------------------------------------------------------------------------------
# veRL: custom_reward_function
# ---------------------------------------------------------------------------------------------

VERL_FILE = Path(verdict_client.__file__).resolve().parent / "verl.py"


def load_like_verl(path, name="custom_module"):
    """What `custom_reward_function.path` does: a module from a file, registered by a name
    that is not its package's."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def verl_expected(result):
    return {
        "score": result["reward"],
        "acc": accuracy(result),
        "format": 1.0 if result["format_ok"] else 0.0,
        "pred": result.get("extracted") or "",
        "judged": 1.0,
        "error": "",
        "verdict": result["verdict"],
    }


def test_verl_file_loaded_by_path_scores_like_the_rewards_endpoint(verdict_url):
    # Issue 17: loaded by path the adapter failed with "attempted relative import", and
    # `compute_score` had no `**kwargs`, so reward kwargs raised TypeError.
    module = load_like_verl(VERL_FILE)
    run = run_id("verl-path")
    cases = [("openai/gsm8k", GOOD_MATH, "4"), ("math500", WRONG_MATH, "4"), ("apps", GOOD_CODE, APPS_LABEL)]
    reference = rewards(verdict_url, [{"completion": s, "label": g} for _, s, g in cases])
    for (source, solution, truth), expected in zip(cases, reference):
        result = module.compute_score(
            data_source=source,
            solution_str=solution,
            ground_truth=truth,
            extra_info={"index": 3, "split": "train"},
            # `reward_kwargs` from the config, and what the reward loop adds of its own.
            url=verdict_url,
            run_id=run,
            reward_router_address=None,
            reward_model_tokenizer=None,
        )
        assert result == verl_expected(expected)
    assert sorted(s["item_id"] for s in stored(verdict_url, run)) == ["apps:3", "math500:3", "openai/gsm8k:3"]


def test_verl_file_loads_by_path_from_a_checkout_where_the_package_is_not_installed(verdict_url, tmp_path):
    checkout = tmp_path / "src"
    shutil.copytree(VERL_FILE.parent, checkout / "verdict_client", ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('custom_module', {str(checkout / 'verdict_client' / 'verl.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['custom_module'] = module\n"
        "spec.loader.exec_module(module)\n"
        f"print(json.dumps(module.compute_score('gsm8k', {GOOD_MATH!r}, '4', None, url={verdict_url!r})))\n"
    )
    # -I -S: no site-packages, no PYTHONPATH: only the copied file's own folder can help.
    finished = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["score"] == 2.0


def test_verl_pkg_path_names_the_installed_module(verdict_url):
    # `pkg://verdict_client.verl` is an import of the module by its package name.
    module = importlib.import_module("verdict_client.verl")
    result = module.compute_score("gsm8k", GOOD_MATH, "4", url=verdict_url)
    assert result["score"] == 2.0 and result["acc"] == 1.0


def test_verl_batch_manager_call_scores_the_whole_batch(verdict_url):
    # Issue 17: the batch reward manager failed.
    module = load_like_verl(VERL_FILE, "custom_module_batch")
    cases = [
        ("gsm8k", GOOD_MATH, "4"),
        ("gsm8k", UNFORMATTED_MATH, 4),
        ("apps", GOOD_CODE, APPS_LABEL),
        ("apps", WRONG_CODE, APPS_OBJECT),
        ("open-r1", GOOD_CODE, OPEN_R1_LABEL),
    ]
    results = module.compute_score_batch(
        data_sources=[c[0] for c in cases],
        solution_strs=[c[1] for c in cases],
        ground_truths=[c[2] for c in cases],
        extra_infos=[{"index": i} for i in range(len(cases))],
        url=verdict_url,
    )
    reference = rewards(verdict_url, [{"completion": s, "label": g} for _, s, g in cases])
    assert results == [verl_expected(expected) for expected in reference]
    assert [r["score"] for r in results] == [2.0, 1.0, 2.0, 1.0, 2.0]


def test_verl_async_variant_is_a_coroutine_with_the_same_scores(verdict_url):
    module = load_like_verl(VERL_FILE, "custom_module_async")
    assert asyncio.iscoroutinefunction(module.compute_score_async)

    async def score_all():
        return await asyncio.gather(
            *(module.compute_score_async("gsm8k", s, "4", {"index": i}, url=verdict_url) for i, s in enumerate([GOOD_MATH, WRONG_MATH]))
        )

    assert asyncio.run(score_all()) == [module.compute_score("gsm8k", s, "4", url=verdict_url) for s in [GOOD_MATH, WRONG_MATH]]


def test_verl_acc_is_the_accuracy_not_the_reward(verdict_url):
    # Issue 17: the `acc` veRL logs (`val-core/…/acc`) was the reward.
    module = load_like_verl(VERL_FILE, "custom_module_acc")
    wrong = module.compute_score("math500", WRONG_MATH, "4", url=verdict_url)
    unformatted = module.compute_score("math500", UNFORMATTED_MATH, "4", url=verdict_url)
    assert (wrong["score"], wrong["acc"], wrong["format"]) == (1.0, 0.0, 1.0)
    assert (unformatted["score"], unformatted["acc"], unformatted["format"]) == (1.0, 1.0, 0.0)
    assert wrong["pred"] == "5"


@pytest.mark.parametrize("truth", ["", None, float("nan"), "\\frac{", {"reference": "4"}])
def test_verl_unjudgeable_sample_is_reported_with_its_reason_never_a_silent_zero(verdict_url, truth):
    # Issue 17: one unjudgeable sample failed the step under the default manager and scored a
    # silent 0.0 under the rate-limited one.
    module = load_like_verl(VERL_FILE, "custom_module_unjudged")
    result = module.compute_score("math500", GOOD_MATH, truth, url=verdict_url)
    judged = module.compute_score("math500", GOOD_MATH, "4", url=verdict_url)
    assert judged["judged"] == 1.0 and judged["score"] == 2.0
    # The same keys as a judged sample: veRL collects each key into one column per batch.
    assert set(result) == set(judged)
    assert result["judged"] == 0.0 and result["score"] == 0.0 and result["acc"] == 0.0
    assert result["error"], result
    with pytest.raises(VerdictError, match="cannot judge"):
        module.compute_score("math500", GOOD_MATH, truth, url=verdict_url, unjudged="raise")


def test_verl_batch_with_an_unjudgeable_sample_scores_the_rest(verdict_url):
    module = load_like_verl(VERL_FILE, "custom_module_batch_unjudged")
    results = module.compute_score_batch(["a", "b", "c"], [GOOD_MATH, GOOD_MATH, WRONG_MATH], ["4", "", "4"], None, url=verdict_url)
    assert [r["judged"] for r in results] == [1.0, 0.0, 1.0]
    assert [r["score"] for r in results] == [2.0, 0.0, 1.0]


def test_verl_prime_manager_gets_plain_numbers(verdict_url):
    # prime reads `float(result)` and cannot read a dict; `reward_kwargs.return_dict=false`.
    module = load_like_verl(VERL_FILE, "custom_module_prime")
    assert module.compute_score("math500", GOOD_MATH, "4", None, url=verdict_url, return_dict=False) == 2.0
    assert module.compute_score("math500", GOOD_MATH, "", None, url=verdict_url, return_dict="false") == 0.0


def test_verl_service_failure_raises_and_is_never_scored():
    scorer = VerlScorer(VerdictClient("http://127.0.0.1:9"))
    failed = ItemResult.from_json({"error": {"code": "sandbox_error", "message": "the guest could not start"}})
    with pytest.raises(VerdictError, match="sandbox_error"):
        scorer._score(failed)


def test_verl_unreachable_server_raises(monkeypatch):
    monkeypatch.setenv("VERDICT_URL", "http://127.0.0.1:9")
    module = load_like_verl(VERL_FILE, "custom_module_unreachable")
    module._scorers.clear()
    scorer = module._scorer({})
    scorer.client.retries, scorer.client.backoff, scorer.client.timeout = 0, 0.0, 1
    with pytest.raises(VerdictError, match="attempts"):
        module.compute_score("math500", GOOD_MATH, "4")


# ---------------------------------------------------------------------------------------------
# TRL: GRPOTrainer reward functions
# ---------------------------------------------------------------------------------------------


def trl_call(functions, prompts, completions, completion_ids=None, step=0, **columns):
    """One step of `GRPOTrainer._calculate_rewards`: every function with the same lists."""
    state = types.SimpleNamespace(global_step=step)
    return [f(prompts=prompts, completions=completions, completion_ids=completion_ids, trainer_state=state, **columns) for f in functions]


def test_trl_rebuilds_reasoning_content_for_the_format_check(verdict_url):
    # Issue 17: with `tools=` or a response schema the reasoning arrives in
    # `reasoning_content`, so format was 0 for every completion.
    accuracy_fn, format_fn = trl_reward_funcs(verdict_url, run_id=run_id("trl-reasoning"))
    completions = [
        [{"role": "assistant", "reasoning_content": "2+2 is 4", "content": "The answer is \\boxed{4}"}],
        [{"role": "assistant", "reasoning_content": "2+2 is 5", "content": "The answer is \\boxed{5}"}],
        [{"role": "assistant", "content": "The answer is \\boxed{4}"}],
    ]
    prompts = [[{"role": "user", "content": "What is 2+2?"}]] * 3
    acc, form = trl_call([accuracy_fn, format_fn], prompts, completions, answer=["4"] * 3)
    texts = ["<think>2+2 is 4</think>The answer is \\boxed{4}", "<think>2+2 is 5</think>The answer is \\boxed{5}", "The answer is \\boxed{4}"]
    reference = rewards(verdict_url, [{"completion": t, "label": "4"} for t in texts])
    assert acc == [r["components"]["accuracy"] for r in reference] == [1.0, 0.0, 1.0]
    assert form == [r["components"]["format"] for r in reference] == [1.0, 1.0, 0.0]


def test_trl_reads_content_block_lists_as_text(verdict_url):
    # Issue 17: `[{"type": "text", "text": …}]` became a Python repr.
    accuracy_fn, format_fn = trl_reward_funcs(verdict_url)
    completions = [
        [{"role": "assistant", "content": [{"type": "text", "text": "<think>2+2 is 4</think>"}, {"type": "text", "text": " \\boxed{4}"}]}],
        [{"role": "assistant", "content": [{"type": "image"}, {"type": "text", "text": "<think>x</think> \\boxed{5}"}]}],
    ]
    acc, form = trl_call([accuracy_fn, format_fn], [[{"role": "user", "content": "2+2?"}]] * 2, completions, answer=["4", "4"])
    assert acc == [1.0, 0.0] and form == [1.0, 1.0]


def test_trl_judges_only_the_last_assistant_message_of_a_tool_conversation(verdict_url):
    # A tool's output is not the model's answer, even when it holds a box.
    [accuracy_fn] = trl_reward_funcs(verdict_url, components=("accuracy",))
    completion = [
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "calc"}}]},
        {"role": "tool", "content": "\\boxed{4}"},
        {"role": "assistant", "reasoning_content": "the tool says so", "content": "I am not sure."},
    ]
    assert trl_call([accuracy_fn], ["2+2?"], [completion], answer=["4"]) == [[0.0]]


@pytest.mark.parametrize("column", ["answer", "solution", "ground_truth", "label"])
def test_trl_finds_the_label_column_by_its_usual_names(verdict_url, column):
    # Issue 17: the documented `ground_truth` column raised KeyError with the default.
    accuracy_fn, _ = trl_reward_funcs(verdict_url)
    assert accuracy_fn(prompts=["2+2?"], completions=[GOOD_MATH], **{column: ["4"]}, trainer_state=None, other=["x"]) == [1.0]


def test_trl_names_the_columns_when_no_label_column_is_found(verdict_url):
    accuracy_fn, _ = trl_reward_funcs(verdict_url)
    with pytest.raises(KeyError, match="reference"):
        accuracy_fn(prompts=["2+2?"], completions=[GOOD_MATH], reference=["4"], trainer_state=None)
    named, _ = trl_reward_funcs(verdict_url, label_column="gold")
    with pytest.raises(KeyError, match="gold"):
        named(prompts=["2+2?"], completions=[GOOD_MATH], answer=["4"])


def test_trl_none_label_gives_none_and_is_not_sent(verdict_url):
    # Issue 17: a `None` label was judged against the string "None".
    run = run_id("trl-none")
    accuracy_fn, format_fn = trl_reward_funcs(verdict_url, run_id=run)
    acc, form = trl_call([accuracy_fn, format_fn], ["2+2?"] * 3, [GOOD_MATH, "<think>None</think> \\boxed{None}", GOOD_MATH], answer=["4", None, float("nan")])
    assert acc == [1.0, None, None] and form == [1.0, None, None]
    assert len(stored(verdict_url, run)) == 1


def test_trl_unreadable_label_gives_none(verdict_url):
    accuracy_fn, format_fn = trl_reward_funcs(verdict_url)
    acc, form = trl_call([accuracy_fn, format_fn], ["p", "p"], [GOOD_MATH, GOOD_MATH], answer=["\\frac{", "4"])
    assert acc == [None, 1.0] and form == [None, 1.0]


def test_trl_stores_every_completion_of_every_step_once(verdict_url):
    # Issue 17: a cache across steps meant repeated completions were never stored.
    run = run_id("trl-steps")
    functions = trl_reward_funcs(verdict_url, run_id=run)
    for step in range(3):
        # Fresh lists each step, as TRL builds them; the same texts every time.
        acc, form = trl_call(functions, ["2+2?"] * 4, [GOOD_MATH, GOOD_MATH, WRONG_MATH, GOOD_MATH], step=step, answer=["4"] * 4)
        assert acc == [1.0, 1.0, 0.0, 1.0] and form == [1.0] * 4
    assert len(stored(verdict_url, run)) == 12


def test_trl_async_functions_share_one_judging_and_match_the_sync_ones(verdict_url):
    run = run_id("trl-async")
    accuracy_fn, format_fn = trl_async_reward_funcs(verdict_url, run_id=run)
    assert asyncio.iscoroutinefunction(accuracy_fn) and asyncio.iscoroutinefunction(format_fn)
    prompts, completions, answers = ["2+2?"] * 3, [GOOD_MATH, WRONG_MATH, UNFORMATTED_MATH], ["4"] * 3

    async def step():
        # TRL gathers the async reward functions of a step concurrently.
        return await asyncio.gather(
            accuracy_fn(prompts=prompts, completions=completions, completion_ids=None, answer=answers),
            format_fn(prompts=prompts, completions=completions, completion_ids=None, answer=answers),
        )

    acc, form = asyncio.run(step())
    assert (acc, form) == tuple(trl_call(trl_reward_funcs(verdict_url), prompts, completions, answer=answers))
    assert len(stored(verdict_url, run)) == 3


def test_trl_groups_follow_the_prompts_times_generations_layout_with_token_counts(verdict_url):
    run = run_id("trl-groups")
    functions = trl_reward_funcs(verdict_url, run_id=run, num_generations=2)
    # B = 3 prompts × G = 2 completions; the last prompt repeats the first in the dataset.
    prompts = ["1+3?", "1+3?", "2+2?", "2+2?", "2+2?", "2+2?"]
    ids = [[1] * n for n in (3, 5, 7, 9, 11, 13)]
    trl_call(functions, prompts, [GOOD_MATH] * 6, completion_ids=ids, step=7, answer=["4"] * 6)
    # One batch is stored at one instant: order the records by item id (the batch position).
    records = sorted(stored(verdict_url, run), key=lambda record: int(record["item_id"]))
    assert [r["completion_tokens"] for r in records] == [3, 5, 7, 9, 11, 13]
    groups = [r["group_id"] for r in records]
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[4] == groups[5]
    assert len(set(groups)) == 3
    assert all(group.startswith("step7-") for group in groups)
    assert [r["prompt"] for r in records] == prompts


def test_trl_code_labels_in_dataset_shapes_are_judged(verdict_url):
    # Issue 17: APPS and open-r1 labels made the Python adapters raise.
    accuracy_fn, _ = trl_reward_funcs(verdict_url)
    labels = [APPS_LABEL, APPS_OBJECT, OPEN_R1_LABEL, OPEN_R1_LABEL]
    completions = [GOOD_CODE, GOOD_CODE, GOOD_CODE, WRONG_CODE]
    assert accuracy_fn(prompts=["sum"] * 4, completions=completions, verification_info=labels) == [1.0, 1.0, 1.0, 0.0]


def test_trl_think_opened_by_a_text_prompt_is_read_from_the_prompt(verdict_url):
    # R1-Zero-style text prompts end inside the reasoning.
    _, format_fn = trl_reward_funcs(verdict_url)
    prompt = "User: What is 2+2?\nAssistant: <think>"
    assert format_fn(prompts=[prompt], completions=["2+2 is 4</think> The answer is \\boxed{4}"], answer=["4"]) == [1.0]


def test_trl_service_failure_raises_and_is_never_a_reward():
    from verdict_client.trl import _component

    failed = ItemResult.from_json({"error": {"code": "internal_error", "message": "the store is gone"}})
    with pytest.raises(VerdictError, match="internal_error"):
        _component(failed, "accuracy")
