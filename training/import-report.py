#!/usr/bin/env python3
"""The figures of an imported device run (scripts/gpu-import.sh), as JSON and as the card's tables.

usage: import-report.py DEST RELEASE STAGE...

DEST holds each STAGE's folder (summary.json from the trainer, eval.json from `maskfill eval
infill --json`) and plan.txt; the RELEASE stage's folder also holds bench-inline.json, demo.txt
and demo.rc. Writes DEST/import.json and DEST/import.md and prints the latter. The goals are
issue #20's: single-line pass@1 >= 20%, multi-line >= 5%, MFU >= 25%, weights <= 30 MB, CPU
inline p50 <= 150 ms, a demo that prints code that parses.
"""
import json
import os
import sys

GOALS = {"single_pass_at_1": 0.20, "multi_pass_at_1": 0.05, "mfu": 0.25,
         "weights_bytes": 30_000_000, "inline_feature_ms_p50": 150.0}


def load(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def eval_figures(stage_dir):
    report = load(os.path.join(stage_dir, "eval.json"), {})
    by_file = {r["tasks"]: r for r in report.get("results", [])}
    single, multi = by_file.get("single-line.jsonl", {}), by_file.get("multi-line.jsonl", {})
    return {"decoding": report.get("decoding"),
            "single_pass_at_1": single.get("pass_at_1"), "single_exact": single.get("exact_match"),
            "multi_pass_at_1": multi.get("pass_at_1"), "multi_exact": multi.get("exact_match"),
            "tokens_per_forward": single.get("tokens_per_forward")}


def stage_figures(dest, stage):
    d = os.path.join(dest, stage)
    summary = load(os.path.join(d, "summary.json"), {})
    weights = os.path.join(d, "model", "model.safetensors")
    keep = ("steps", "seconds", "tokens_per_s", "model_tflops_per_s", "mfu", "train_loss", "val_loss",
            "precision", "batch", "seq_len")
    return {"stage": stage, "train": {k: summary.get(k) for k in keep},
            "weights_bytes": os.path.getsize(weights), "eval": eval_figures(d)}


def release_figures(dest, release):
    d = os.path.join(dest, release)
    bench = load(os.path.join(d, "bench-inline.json"), {})
    demo_rc = open(os.path.join(d, "demo.rc")).read().strip() if os.path.exists(os.path.join(d, "demo.rc")) else None
    demo = open(os.path.join(d, "demo.txt"), encoding="utf-8").read() if os.path.exists(os.path.join(d, "demo.txt")) else ""
    log = os.path.join(d, "demo.log")
    said = [l.strip() for l in open(log, encoding="utf-8")] if os.path.exists(log) else []
    fill_said = next((l for l in said if l.startswith("maskfill fill:")), None)
    return {"stage": release,
            "inline_feature_ms_p50": bench.get("feature_ms_p50"), "inline_server_ms_p50": bench.get("server_ms_p50"),
            "inline_generated_tokens_p50": bench.get("generated_tokens_p50"),
            "demo_fill_printed_parsing_code": demo_rc == "0", "demo_output": demo, "demo_fill_message": fill_said}


def percent(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def number(x, fmt="{:,.0f}"):
    return "–" if x is None else fmt.format(x)


def tables(report):
    lines = ["| stage | steps | seconds | tokens/s | MFU | val loss | decoding | single pass@1 | multi pass@1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in report["stages"]:
        t, e = s["train"], s["eval"]
        lines.append(f"| {s['stage']} | {number(t['steps'])} | {number(t['seconds'], '{:.0f}')} | "
                     f"{number(t['tokens_per_s'])} | {percent(t['mfu'])} | {number(t['val_loss'], '{:.3f}')} | "
                     f"{e['decoding'] or '–'} | {percent(e['single_pass_at_1'])} | {percent(e['multi_pass_at_1'])} |")
    r = report["release"]
    lines += ["", f"Release candidate `{r['stage']}`: CPU inline p50 {number(r['inline_feature_ms_p50'], '{:.1f}')} ms "
              f"(feature; server {number(r['inline_server_ms_p50'], '{:.1f}')} ms, "
              f"{number(r['inline_generated_tokens_p50'], '{:.0f}')} tokens p50); the demo's fill "
              + ("prints code that parses." if r["demo_fill_printed_parsing_code"]
                 else f"prints nothing that parses ({r['demo_fill_message'] or 'no message'})."),
              "", "| goal | limit | measured | met |", "|---|---|---|---|"]
    for name, (limit, value, met) in report["goals"].items():
        lines.append(f"| {name} | {limit} | {value if value is not None else '–'} | {'yes' if met else 'no'} |")
    if r["demo_output"]:
        lines += ["", "What the demo writes (scripts/demo.sh's commands with this model):", "", "```diff",
                  r["demo_output"].rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def goals(stages, release):
    rel = next((s for s in stages if s["stage"] == release["stage"]), None) or {}
    e = rel.get("eval", {})
    best_mfu = max((s["train"]["mfu"] or 0 for s in stages), default=0)

    def at_least(value, limit):
        return value is not None and value >= limit

    def at_most(value, limit):
        return value is not None and value <= limit
    return {
        "single-line pass@1": (GOALS["single_pass_at_1"], e.get("single_pass_at_1"),
                               at_least(e.get("single_pass_at_1"), GOALS["single_pass_at_1"])),
        "multi-line pass@1": (GOALS["multi_pass_at_1"], e.get("multi_pass_at_1"),
                              at_least(e.get("multi_pass_at_1"), GOALS["multi_pass_at_1"])),
        "trainer MFU (best stage)": (GOALS["mfu"], best_mfu, at_least(best_mfu, GOALS["mfu"])),
        "weights bytes": (GOALS["weights_bytes"], rel.get("weights_bytes"),
                          at_most(rel.get("weights_bytes"), GOALS["weights_bytes"])),
        "CPU inline p50 ms": (GOALS["inline_feature_ms_p50"], release["inline_feature_ms_p50"],
                              at_most(release["inline_feature_ms_p50"], GOALS["inline_feature_ms_p50"])),
        "demo prints code that parses": (True, release["demo_fill_printed_parsing_code"],
                                         release["demo_fill_printed_parsing_code"]),
    }


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    dest, release_stage, stage_names = sys.argv[1], sys.argv[2], sys.argv[3:]
    stages = [stage_figures(dest, s) for s in stage_names]
    release = release_figures(dest, release_stage)
    plan = os.path.join(dest, "plan.txt")
    report = {"stages": stages, "release": release,
              "plan": open(plan, encoding="utf-8").read() if os.path.exists(plan) else None}
    report["goals"] = goals(stages, release)
    with open(os.path.join(dest, "import.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    text = tables(report)
    with open(os.path.join(dest, "import.md"), "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
