"""Math-Verify 0.9.0 on the same peer corpus as `cargo bench --bench math`.

Run by bench/math-vs-math-verify.sh inside a throw-away virtual environment. Mirrors the Rust
bench: for each `pair` case, parse the gold and the prediction and verify, one call at a time
on one core, and report verifications per second and latency percentiles.
"""

import json
import sys
import time
from pathlib import Path

from math_verify import parse, verify


def main() -> None:
    corpus = Path(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    pairs = [
        (case["gold"], case["prediction"])
        for case in map(json.loads, corpus.read_text().splitlines())
        if case["kind"] == "pair"
    ]
    for gold, prediction in pairs:  # warm-up, like the Rust bench
        verify(parse(gold), parse(prediction))
    latencies = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for gold, prediction in pairs:
            t = time.perf_counter()
            verify(parse(gold), parse(prediction))
            latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - started
    latencies.sort()
    pick = lambda p: latencies[round((len(latencies) - 1) * p)] * 1e6
    print(f"math_verify_verifications_per_second {len(latencies) / total:.0f}")
    print(f"math_verify_p50_us {pick(0.5):.1f}")
    print(f"math_verify_p99_us {pick(0.99):.1f}")


if __name__ == "__main__":
    main()
