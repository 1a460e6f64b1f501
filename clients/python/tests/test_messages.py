"""What the adapters make of trainers' values before anything is sent: completion text out of
chat messages, TRL's group layout, the label column, JSON for numpy-like values. No server."""

from __future__ import annotations

import pytest

from verdict_client import VerdictClient, VerdictError
from verdict_client.client import encode_json
from verdict_client.messages import completion_text, is_missing, prompt_text
from verdict_client.trl import _StepJudge


def test_a_plain_completion_is_kept_as_it_is():
    assert completion_text("<think>a</think> \\boxed{1}") == "<think>a</think> \\boxed{1}"


def test_reasoning_content_goes_back_inside_think_tags():
    message = {"role": "assistant", "reasoning_content": "because", "content": "\\boxed{1}"}
    assert completion_text([message]) == "<think>because</think>\\boxed{1}"
    # An empty reasoning the parser found is still a reasoning block.
    assert completion_text([{"role": "assistant", "reasoning_content": "", "content": "x"}]) == "<think></think>x"


def test_without_reasoning_content_the_content_is_judged_as_written():
    assert completion_text([{"role": "assistant", "content": "<think>r</think> 4"}]) == "<think>r</think> 4"
    assert completion_text([{"role": "assistant", "content": None}]) == ""


def test_content_blocks_are_joined_and_non_text_blocks_dropped():
    content = [{"type": "text", "text": "<think>r</think>"}, {"type": "image_url"}, {"type": "text", "text": " 4"}]
    assert completion_text([{"role": "assistant", "content": content}]) == "<think>r</think> 4"
    thinking = [{"type": "thinking", "thinking": "r"}, {"type": "text", "text": "4"}]
    assert completion_text([{"role": "assistant", "content": thinking}]) == "<think>r</think>4"


def test_only_the_last_assistant_message_is_judged():
    conversation = [
        {"role": "assistant", "content": "<think>call the tool</think> calling"},
        {"role": "tool", "content": "\\boxed{42}"},
        {"role": "assistant", "content": "<think>done</think> \\boxed{41}"},
    ]
    assert completion_text(conversation) == "<think>done</think> \\boxed{41}"


@pytest.mark.parametrize("bad", [[{"role": "tool", "content": "x"}], ["not a message"], 42])
def test_a_completion_with_no_assistant_text_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        completion_text(bad)


def test_a_conversational_prompt_is_stored_as_json_and_never_ends_with_an_open_think():
    rendered = prompt_text([{"role": "user", "content": "Answer after <think>"}])
    assert rendered.startswith("[") and not rendered.rstrip().endswith("<think>")
    assert prompt_text("Assistant: <think>") == "Assistant: <think>"
    assert prompt_text(None) is None


def test_missing_labels_are_none_and_nan():
    assert is_missing(None) and is_missing(float("nan"))
    assert not is_missing("") and not is_missing(0) and not is_missing("nan")


def judge(num_generations=None, label_column=None):
    return _StepJudge(VerdictClient("http://127.0.0.1:9"), label_column, num_generations)


def test_groups_are_runs_of_one_prompt_and_label():
    ids = judge().groups(["a", "a", "b", "b", "a", "a"], ["1"] * 6, 3)
    assert ids == ["step3-g1", "step3-g1", "step3-g2", "step3-g2", "step3-g3", "step3-g3"]
    # Same prompt, different labels: different problems.
    assert judge().groups(["a", "a", "a", "a"], ["1", "1", "2", "2"], None) == ["g1", "g1", "g2", "g2"]


def test_num_generations_splits_adjacent_copies_of_one_prompt():
    ids = judge(num_generations=2).groups(["a"] * 6, ["1"] * 6, 0)
    assert ids == ["step0-g1", "step0-g1", "step0-g2", "step0-g2", "step0-g3", "step0-g3"]


def test_the_label_column_is_found_in_order_and_named_when_missing():
    assert judge().labels({"solution": ["s"], "answer": ["a"], "trainer_state": None}, 1) == ["a"]
    assert judge().labels({"ground_truth": ["g"]}, 1) == ["g"]
    assert judge(label_column="gold").labels({"gold": ["x"], "answer": ["a"]}, 1) == ["x"]
    with pytest.raises(KeyError, match="answer, solution, ground_truth, label"):
        judge().labels({"question": ["q"], "trainer_state": None}, 1)
    with pytest.raises(ValueError, match="2 entries for 1"):
        judge().labels({"answer": ["a", "b"]}, 1)


def test_numpy_like_values_are_sent_as_plain_json_and_nan_is_refused():
    class Scalar:
        def tolist(self):
            return 7

    assert encode_json({"label": Scalar(), "pair": (1, 2)}) == b'{"label": 7, "pair": [1, 2]}'
    with pytest.raises(VerdictError, match="JSON"):
        encode_json({"label": float("nan")})
