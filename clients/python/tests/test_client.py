"""The client, the TRL adapter and the veRL adapter against a real verdict server."""

from __future__ import annotations

import json
import urllib.request

import pytest

from verdict_client import VerdictClient, VerdictError, compute_score, math_task, trl_reward_funcs, verl_compute_score

GOOD = "<think>2+2 is 4</think> The answer is \\boxed{4}"
WRONG = "<think>hmm</think> The answer is \\boxed{5}"
UNFORMATTED = "The answer is \\boxed{4}"
NO_BOX = "<think>hmm</think> four"


def post_rewards(url, items):
    request = urllib.request.Request(
        url + "/v1/rewards",
        data=json.dumps({"items": items}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["results"]


def test_batch_client_returns_one_result_per_item_in_order(verdict_url):
    client = VerdictClient(verdict_url, run_id="client-test", batch_size=2)
    items = [{"id": str(i), "completion": c, "task": math_task(4)} for i, c in enumerate([GOOD, WRONG, UNFORMATTED])]
    results = client.rewards(items)
    assert [r.id for r in results] == ["0", "1", "2"]
    assert [r.verdict for r in results] == ["correct", "incorrect", "correct"]
    assert [r.reward for r in results] == [2.0, 1.0, 1.0]
    assert results[0].components == {"accuracy": 1.0, "format": 1.0}
    assert all(r.scorable for r in results)


def test_trl_shaped_call_matches_the_rewards_endpoint(verdict_url):
    accuracy, fmt = trl_reward_funcs(verdict_url, run_id="trl-test")
    completions = [GOOD, WRONG, UNFORMATTED, NO_BOX, GOOD, WRONG, "<think>x</think> \\boxed{\\frac{8}{2}}", GOOD]
    answers = ["4", "4", "4", "4", "5", "5", "4", "\\frac{"]
    prompts = ["What is 2+2?"] * 8

    acc = accuracy(prompts=prompts, completions=completions, answer=answers)
    form = fmt(prompts=prompts, completions=completions, answer=answers)

    direct = post_rewards(
        verdict_url, [{"completion": c, "task": {"kind": "math", "answer": a}} for c, a in zip(completions, answers)]
    )
    assert len(acc) == len(form) == 8
    for index in range(7):
        assert acc[index] == direct[index]["components"]["accuracy"], index
        assert form[index] == direct[index]["components"]["format"], index
    assert acc[:4] == [1.0, 0.0, 1.0, 0.0]
    assert form[:4] == [1.0, 1.0, 0.0, 1.0]
    # The last reference answer cannot be parsed: unscorable is None, never 0.
    assert "error" in direct[7]
    assert acc[7] is None and form[7] is None


def test_trl_accepts_conversational_completions(verdict_url):
    accuracy, _ = trl_reward_funcs(verdict_url)
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": WRONG}]]
    prompts = [[{"role": "user", "content": "2+2?"}]] * 2
    assert accuracy(prompts, completions, answer=["4", "4"]) == [1.0, 0.0]


def test_trl_names_a_missing_label_column(verdict_url):
    accuracy, _ = trl_reward_funcs(verdict_url, label_column="solution")
    with pytest.raises(KeyError, match="solution"):
        accuracy(["p"], [GOOD], answer=["4"])


def test_verl_compute_score_returns_the_reward(verdict_url):
    score = verl_compute_score(verdict_url, return_dict=False)
    assert score("math500", GOOD, "4") == 2.0
    assert score("math500", WRONG, "4") == 1.0
    detailed = verl_compute_score(verdict_url)("gsm8k", GOOD, "4", {"index": 3}, unknown_kwarg=1)
    assert detailed == {
        "score": 2.0,
        "acc": 1.0,
        "format": 1.0,
        "pred": "4",
        "judged": 1.0,
        "error": "",
        "verdict": "correct",
    }


def test_verl_raises_on_an_unjudgeable_sample_when_asked_to(verdict_url):
    with pytest.raises(VerdictError):
        verl_compute_score(verdict_url, unjudged="raise")("math500", GOOD, "\\frac{")


def test_module_level_compute_score_reads_the_environment(verdict_url, monkeypatch):
    monkeypatch.setenv("VERDICT_URL", verdict_url)
    assert compute_score("math500", GOOD, "4")["score"] == 2.0


def test_a_refused_request_raises_with_the_servers_message(verdict_url):
    client = VerdictClient(verdict_url, policy="no-such-policy", retries=0)
    with pytest.raises(VerdictError, match="unknown policy") as raised:
        client.rewards([{"completion": GOOD, "task": math_task(4)}])
    assert raised.value.status == 422


def test_an_unreachable_server_raises_after_the_retries():
    client = VerdictClient("http://127.0.0.1:9", retries=2, backoff=0.01, timeout=1)
    with pytest.raises(VerdictError, match="3 attempts"):
        client.rewards([{"completion": GOOD, "task": math_task(4)}])


def test_openrlhf_shaped_request_matches_the_rewards_endpoint(verdict_url):
    prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    responses = [GOOD, WRONG, UNFORMATTED]
    request = urllib.request.Request(
        verdict_url + "/get_reward?run_id=openrlhf-client-test",
        data=json.dumps({"query": [prompt + r for r in responses], "prompts": [prompt] * 3, "labels": ["4"] * 3}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        reply = json.loads(response.read())
    direct = post_rewards(verdict_url, [{"completion": r, "task": {"kind": "math", "answer": "4"}} for r in responses])
    assert reply["rewards"] == [result["reward"] for result in direct] == [2.0, 1.0, 1.0]
