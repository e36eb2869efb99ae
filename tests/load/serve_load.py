"""Load test of `maskfill serve` for the GPU check, where Node is absent: the same shape as
tests/serve/load.mjs (simulated editors typing through a line of a sample file, a FIM
completion every two keystrokes, closed loop), against ONE server: all editors concurrently
(the batcher joins their sequences) and then the same requests one at a time. Prints one JSON
object: throughput ratio, p50/p99 of each, identical texts, mean batch size.

  python3 tests/load/serve_load.py --url http://127.0.0.1:PORT [--editors 8] [--completions 4]
"""
import argparse
import concurrent.futures
import json
import os
import re
import statistics
import sys
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SAMPLES = ["python/stats.py", "python/unfinished.py", "javascript/event_emitter.js", "go/wordcount.go",
           "java/BoundedStack.java", "c/ring_buffer.c", "cpp/matrix.cpp"]


def scripts(editors, completions):
    files = [os.path.join(ROOT, "samples", s) for s in SAMPLES if os.path.isfile(os.path.join(ROOT, "samples", s))]
    out = []
    for i in range(editors):
        lines = open(files[i % len(files)], encoding="utf-8").read().split("\n")
        candidates = [n for n, l in enumerate(lines) if len(l.strip()) >= completions * 2 + 2]
        n = candidates[(i * 7) % len(candidates)]
        line = lines[n]
        before = "\n".join(lines[:n]) + ("\n" if n else "")
        after = "\n" + "\n".join(lines[n + 1:])
        indent = len(line) - len(line.lstrip())
        out.append([{"prompt": before + line[:indent + 2 * k], "suffix": after} for k in range(1, completions + 1)])
    return out


def post(url, body, timeout=300):
    request = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def run_round(url, model, editor_scripts, parallel, max_tokens):
    latencies, texts, tokens = [], {}, 0

    def editor(i):
        nonlocal tokens
        for k, req in enumerate(editor_scripts[i]):
            t = time.perf_counter()
            body = post(url, {"model": model, **req, "max_tokens": max_tokens, "temperature": 0, "stop": ["\n"]})
            latencies.append(1e3 * (time.perf_counter() - t))
            texts[(i, k)] = body["choices"][0]["text"]
            tokens += body["usage"]["completion_tokens"]

    t0 = time.perf_counter()
    if parallel:
        with concurrent.futures.ThreadPoolExecutor(len(editor_scripts)) as pool:
            list(pool.map(editor, range(len(editor_scripts))))
    else:
        for i in range(len(editor_scripts)):
            editor(i)
    wall = time.perf_counter() - t0
    latencies.sort()
    return {"wall_s": wall, "requests": len(latencies), "tokens": tokens,
            "p50_ms": latencies[len(latencies) // 2], "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "texts": texts}


def metric(url, name):
    text = urllib.request.urlopen(url + "/metrics", timeout=30).read().decode()
    m = re.search(r"^" + re.escape(name) + r"(?:\{[^}]*\})? ([0-9.eE+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--model", default="")
    parser.add_argument("--editors", type=int, default=8)
    parser.add_argument("--completions", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    model = args.model or json.loads(urllib.request.urlopen(args.url + "/v1/models", timeout=30).read())["data"][0]["id"]
    work = scripts(args.editors, args.completions)
    post(args.url, {"model": model, "prompt": "def warm_up(x):\n    return ", "suffix": "\n", "max_tokens": 8})
    # One at a time first, then concurrent: the concurrent round then cannot owe its speed to a
    # prompt cache the other warmed (both see the same cache state for every prompt but the first).
    counters = ("maskfill_batch_steps_total", "maskfill_forwards_total", "maskfill_completion_tokens_total",
                "maskfill_prompt_tokens_total", "maskfill_prompt_tokens_computed_total")

    def counted(round_fn):  # the server's own counts for one round: steps, forwards, tokens
        before = {name: metric(args.url, name) for name in counters}
        result = round_fn()
        result["server"] = {name[len("maskfill_"):]: metric(args.url, name) - before[name] for name in counters}
        steps = result["server"]["batch_steps_total"]
        result["server"]["ms_per_batch_step"] = 1e3 * result["wall_s"] / steps if steps else None
        return result

    one = counted(lambda: run_round(args.url, model, work, False, args.max_tokens))
    sizes_before = (metric(args.url, "maskfill_batch_size_sum"), metric(args.url, "maskfill_batch_size_count"))
    many = counted(lambda: run_round(args.url, model, work, True, args.max_tokens))
    sizes_after = (metric(args.url, "maskfill_batch_size_sum"), metric(args.url, "maskfill_batch_size_count"))
    same = sum(1 for key, text in many["texts"].items() if one["texts"].get(key) == text)
    ratio = (many["tokens"] / many["wall_s"]) / max(1e-9, one["tokens"] / one["wall_s"])
    request_ratio = (many["requests"] / many["wall_s"]) / max(1e-9, one["requests"] / one["wall_s"])
    mean_batch = (sizes_after[0] - sizes_before[0]) / max(1.0, sizes_after[1] - sizes_before[1])
    report = {"editors": args.editors, "completions_each": args.completions, "max_tokens": args.max_tokens,
              "concurrent": {k: v for k, v in many.items() if k != "texts"},
              "one_at_a_time": {k: v for k, v in one.items() if k != "texts"},
              "throughput_ratio_tokens": ratio, "throughput_ratio_requests": request_ratio,
              "identical_texts": f"{same}/{len(many['texts'])}", "mean_batch_concurrent": mean_batch}
    print(json.dumps(report, indent=2))
    return 0 if same == len(many["texts"]) else 1


if __name__ == "__main__":
    sys.exit(main())
