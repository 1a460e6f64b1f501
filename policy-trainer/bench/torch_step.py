"""The step `policy-trainer bench` times, written in PyTorch, on the weights it exported.

    python3 torch_step.py MODEL_DIR --group 6 --prompt-len 32 --new-tokens 32 --repeats 3 --threads 2

MODEL_DIR holds the config.json and model.safetensors that `policy-trainer bench --export`
wrote. The model, the shapes, the token ids and the objective are the candle bench's
(policy-trainer/src/bench.rs): a Llama/Qwen2 decoder with the same attention arithmetic
(explicit softmax over QK^T with an additive causal mask, grouped-query keys repeated), a
batch-1 prefill whose cache serves the whole group, full-vocabulary sampling at temperature 1,
then the DAPO-normalised clipped objective with advantages ±1, backward, global-norm clipping
and one AdamW update. Prints one JSON line in the candle bench's format.
"""

import argparse
import json
import math
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: only F32 tensors are supported, got {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=np.float32, count=(end - start) // 4, offset=base + start)
        tensors[name] = torch.from_numpy(array.copy()).reshape(info["shape"])
    return tensors


def token_ids(n, vocab, salt):
    return [(i * 7919 + salt * 104729 + 13) % vocab for i in range(n)]


class Decoder:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = weights
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg.get("num_key_value_heads") or self.heads
        self.head_dim = cfg["hidden_size"] // self.heads
        self.eps = cfg.get("rms_norm_eps", 1e-5)
        theta = cfg.get("rope_theta", 10000.0)
        inv = 1.0 / theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)
        positions = torch.arange(cfg.get("max_position_embeddings", 2048), dtype=torch.float32)
        freqs = torch.outer(positions, inv)
        self.cos, self.sin = freqs.cos(), freqs.sin()
        head = "model.embed_tokens.weight" if cfg.get("tie_word_embeddings") else "lm_head.weight"
        self.head = weights[head]

    def linear(self, x, name):
        bias = self.w.get(name + ".bias")
        return F.linear(x, self.w[name + ".weight"], bias)

    def norm(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w[name]

    def rope(self, x, pos):
        t = x.shape[2]
        cos = self.cos[pos : pos + t].repeat(1, 2)
        sin = self.sin[pos : pos + t].repeat(1, 2)
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def hidden(self, ids, pos=0, cache=None):
        b, t = ids.shape
        x = self.w["model.embed_tokens.weight"][ids]
        past = 0 if cache is None or not cache else cache[0][0].shape[2]
        mask = None
        if t > 1:
            mask = torch.full((t, past + t), float("-inf")).triu(past + 1)
        for layer in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{layer}"
            h = self.norm(x, p + ".input_layernorm.weight")
            q = self.linear(h, p + ".self_attn.q_proj").view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.linear(h, p + ".self_attn.k_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.linear(h, p + ".self_attn.v_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if cache is not None:
                if len(cache) > layer:
                    k = torch.cat((cache[layer][0], k), dim=2)
                    v = torch.cat((cache[layer][1], v), dim=2)
                    cache[layer] = (k, v)
                else:
                    cache.append((k, v))
            repeat = self.heads // self.kv_heads
            if repeat > 1:
                k = k.repeat_interleave(repeat, dim=1)
                v = v.repeat_interleave(repeat, dim=1)
            att = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
            if mask is not None:
                att = att + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
            x = x + self.linear(y, p + ".self_attn.o_proj")
            h = self.norm(x, p + ".post_attention_layernorm.weight")
            gate = F.silu(self.linear(h, p + ".mlp.gate_proj"))
            x = x + self.linear(gate * self.linear(h, p + ".mlp.up_proj"), p + ".mlp.down_proj")
        return self.norm(x, "model.norm.weight")

    def logits(self, hidden):
        return hidden @ self.head.t()


@torch.no_grad()
def generate_group(dec, prompt, group, new_tokens, generator):
    cache = []
    logits = dec.logits(dec.hidden(torch.tensor([prompt]), 0, cache))[:, -1]
    cache = [(k.repeat(group, 1, 1, 1), v.repeat(group, 1, 1, 1)) for k, v in cache]
    rows = logits.repeat(group, 1)
    out = []
    for step in range(new_tokens):
        next_tokens = torch.multinomial(rows.softmax(-1), 1, generator=generator)
        out.append(next_tokens)
        if step + 1 == new_tokens:
            break
        rows = dec.logits(dec.hidden(next_tokens, len(prompt) + step, cache))[:, -1]
    return torch.cat(out, dim=1)


def train_step(dec, params, optimizer, ids, targets, advantages, prompt_len, new_tokens):
    hidden = dec.hidden(ids)[:, prompt_len - 1 : prompt_len - 1 + new_tokens]
    logp = dec.logits(hidden).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    ratio = (logp - logp.detach()).exp()
    adv = advantages.unsqueeze(1)
    objective = torch.minimum(ratio * adv, ratio.clamp(1 - 0.2, 1 + 0.28) * adv)
    loss = -objective.sum() / targets.numel()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--group", type=int, default=6)
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with open(f"{args.model_dir}/config.json") as f:
        cfg = json.load(f)
    weights = load_safetensors(f"{args.model_dir}/model.safetensors")
    params = list(weights.values())
    for tensor in params:
        tensor.requires_grad_(True)
    dec = Decoder(cfg, weights)
    optimizer = torch.optim.AdamW(params, lr=1e-6, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0)

    vocab = cfg["vocab_size"]
    prompt = token_ids(args.prompt_len, vocab, 0)
    # The same function as candle's, checked before it is timed.
    with torch.no_grad():
        candle_logits = load_safetensors(f"{args.model_dir}/prompt_logits.safetensors")["logits"]
        logits = dec.logits(dec.hidden(torch.tensor([prompt])))
        logit_diff = (logits - candle_logits).abs().max().item()
    if logit_diff > 1e-2:
        raise SystemExit(f"the PyTorch decoder differs from candle's: max |logit diff| {logit_diff}")
    completions = [token_ids(args.new_tokens, vocab, row + 1) for row in range(args.group)]
    ids = torch.tensor([prompt + c[:-1] for c in completions])
    targets = torch.tensor(completions)
    advantages = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(args.group)])
    generator = torch.Generator().manual_seed(0)

    gen_s, train_s = [], []
    for round_ in range(args.repeats + 1):
        started = time.perf_counter()
        sampled = generate_group(dec, prompt, args.group, args.new_tokens, generator)
        generated = time.perf_counter() - started
        assert sampled.shape == (args.group, args.new_tokens)
        started = time.perf_counter()
        train_step(dec, params, optimizer, ids, targets, advantages, args.prompt_len, args.new_tokens)
        trained = time.perf_counter() - started
        if round_ > 0:
            gen_s.append(generated)
            train_s.append(trained)

    tokens = args.group * args.new_tokens
    print(
        json.dumps(
            {
                "framework": f"pytorch {torch.__version__}",
                "parameters": sum(t.numel() for t in params),
                "group": args.group,
                "prompt_len": args.prompt_len,
                "new_tokens": args.new_tokens,
                "threads": torch.get_num_threads(),
                "max_abs_logit_diff_vs_candle": logit_diff,
                "gen_tokens_per_s": tokens / statistics.median(gen_s),
                "train_tokens_per_s": tokens / statistics.median(train_s),
                "gen_s": gen_s,
                "train_s": train_s,
            }
        )
    )


if __name__ == "__main__":
    main()
