"""The text verdict judges, out of what trainers hand a reward function.

TRL passes a completion as a plain string or, for conversational datasets, as a list of chat
messages. A message's `content` is a string or a list of content blocks
(`[{"type": "text", "text": …}]`), and with `tools=` or a tokenizer response schema the
reasoning is parsed out of the text into `reasoning_content`. verdict's format check needs the
R1 layout back, so the reasoning is put back inside `<think>…</think>` before the content.

Only the last assistant message is judged: in a tool-calling conversation the earlier turns
are tool calls and tool results, and a tool's output must never count as the model's answer.
"""

from __future__ import annotations

import json
import math
from typing import Any, List, Mapping, Optional

# Keys under which chat parsers put the reasoning they cut out of the text: TRL's response
# schemas and OpenAI-style servers say `reasoning_content`; some templates say `reasoning` or
# `thinking`.
REASONING_KEYS = ("reasoning_content", "reasoning", "thinking")

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def is_missing(label: Any) -> bool:
    """A dataset cell with no reference: `None`, or the float NaN pandas and Arrow use for it."""
    return label is None or (isinstance(label, float) and math.isnan(label))


def completion_text(completion: Any) -> str:
    """The completion as one string in the `<think>…</think> answer` layout."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _message_text(completion)
    if isinstance(completion, (list, tuple)):
        messages = [message for message in completion if isinstance(message, Mapping)]
        if len(messages) != len(completion):
            raise TypeError("a conversational completion must be a list of message dicts")
        assistant = [message for message in messages if message.get("role", "assistant") == "assistant"]
        if not assistant:
            raise ValueError("the completion holds no assistant message")
        return _message_text(assistant[-1])
    raise TypeError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


def prompt_text(prompt: Any) -> Optional[str]:
    """The prompt as a string for the audit trail: plain text as it is, a conversation as its
    JSON (a rendering of the chat template is not available to a reward function)."""
    if prompt is None:
        return None
    if isinstance(prompt, str):
        return prompt
    return json.dumps(prompt, ensure_ascii=False, default=str)


def _message_text(message: Mapping[str, Any]) -> str:
    content, block_reasoning = _content_text(message.get("content"))
    reasoning: Optional[str] = None
    for key in REASONING_KEYS:
        value = message.get(key)
        if isinstance(value, str):
            reasoning = value
            break
    if reasoning is None:
        reasoning = block_reasoning
    if reasoning is None:
        return content
    return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{content}"


def _content_text(content: Any) -> "tuple[str, Optional[str]]":
    """The text of a message's content, and the reasoning of any thinking blocks in it."""
    if content is None:
        return "", None
    if isinstance(content, str):
        return content, None
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, (list, tuple)):
        raise TypeError(f"message content must be a string or a list of blocks, not {type(content).__name__}")
    texts: List[str] = []
    thoughts: List[str] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            continue
        if not isinstance(block, Mapping):
            raise TypeError(f"a content block must be a dict, not {type(block).__name__}")
        kind = block.get("type", "text")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind in ("thinking", "reasoning") and isinstance(block.get(kind), str):
            thoughts.append(block[kind])
        # Images, audio and tool-use blocks carry no answer text.
    return "".join(texts), ("".join(thoughts) if thoughts else None)
