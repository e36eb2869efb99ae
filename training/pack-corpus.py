#!/usr/bin/env python3
"""Samples a corpus written by `maskfill train corpus` down to what the GPU trip can carry.

Usage: training/pack-corpus.py SRC OUT --train-mb 220 --validation-mb 16 [--max-share 0.35]

Documents are chosen, not shards: shards hold files in path order, so languages come in runs and
every k-th shard would drop a small language entirely. The languages that are small in the whole
corpus (under --small-share of it: TypeScript, Java, C) are kept whole (unless they would fill
more than a quarter of the pack: then they are sampled too); every other language is sampled at
one rate, chosen so the train text comes to --train-mb. A document is in when the
salted SHA-1 of its path falls under that rate, so the pack is the same every time and a language's
sample is spread over all of its packages. Fails when a language ends above --max-share of the
packed train text (issue #20: no language above 35%).

Writes OUT/{train,validation}-NNNNN.jsonl shards (the corpus format the trainer reads), the
packed documents' lines of manifest.jsonl (package, version, licence), the source's report.md,
and OUT/pack.md: bytes and documents per language, before and after.
"""
import argparse
import glob
import hashlib
import json
import os
import sys


def read_shards(src, split):
    for path in sorted(glob.glob(os.path.join(src, f"{split}-*.jsonl"))):
        with open(path, "rb") as f:
            for line in f:
                doc = json.loads(line)
                yield doc["path"], doc["language"], len(doc["text"].encode()), line


def unit(path):
    """A path's place in [0, 1): the first 52 bits of a salted SHA-1. Salted because the corpus
    caps a package (max_mb) by keeping its lowest unsalted path hashes: unsalted, this sample
    would take most of a capped package and too little of the rest."""
    return int(hashlib.sha1(b"maskfill-pack\n" + path.encode()).hexdigest()[:13], 16) / float(1 << 52)


def language_bytes(src, split):
    sizes = {}
    for _, language, size, _ in read_shards(src, split):
        sizes[language] = sizes.get(language, 0) + size
    return sizes


def sampling_rates(sizes, target, small_share, small_cap=0.25):
    """Small languages whole (sampled too if they would fill more than small_cap of the target),
    the rest at one rate that fills the target (at most 1)."""
    total = sum(sizes.values())
    small = {l for l, b in sizes.items() if b < small_share * total}
    small_bytes = sum(sizes[l] for l in small)
    small_rate = min(1.0, small_cap * target / small_bytes) if small_bytes else 1.0
    rest = total - small_bytes
    rate = min(1.0, max(0.0, target - small_rate * small_bytes) / rest) if rest else 1.0
    return {l: small_rate if l in small else rate for l in sizes}


def write_split(src, out, split, rates, paths, shard_bytes=8 << 20):
    kept, shard, written = {}, None, 0
    index = 0
    for path, language, size, line in read_shards(src, split):
        if unit(path) >= rates.get(language, 0.0):
            continue
        if shard is None or written >= shard_bytes:
            if shard:
                shard.close()
            shard = open(os.path.join(out, f"{split}-{index:05d}.jsonl"), "wb")
            index, written = index + 1, 0
        shard.write(line)
        written += len(line)
        paths.add(path)
        b, n = kept.get(language, (0, 0))
        kept[language] = (b + size, n + 1)
    if shard:
        shard.close()
    return kept


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--train-mb", type=float, default=220)
    ap.add_argument("--validation-mb", type=float, default=16)
    ap.add_argument("--small-share", type=float, default=0.05)
    ap.add_argument("--max-share", type=float, default=0.35)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lines = ["| split | language | corpus MB | rate | packed MB | packed documents | packed share |",
             "|---|---|---|---|---|---|---|"]
    shares, paths = {}, set()
    for split, mb in (("train", args.train_mb), ("validation", args.validation_mb)):
        sizes = language_bytes(args.src, split)
        rates = sampling_rates(sizes, mb * 1e6, args.small_share)
        kept = write_split(args.src, args.out, split, rates, paths)
        total = max(1, sum(b for b, _ in kept.values()))
        for language in sorted(sizes, key=sizes.get, reverse=True):
            b, n = kept.get(language, (0, 0))
            lines.append(f"| {split} | {language} | {sizes[language] / 1e6:.1f} | {rates[language]:.3f} | "
                         f"{b / 1e6:.1f} | {n} | {100.0 * b / total:.1f}% |")
            if split == "train":
                shares[language] = b / total
    with open(os.path.join(args.src, "report.md")) as f, open(os.path.join(args.out, "report.md"), "w") as g:
        g.write(f.read())
    # The packed documents' manifest lines: package, version and licence travel with the text
    # (and `train tokenizer` reads the languages from it).
    with open(os.path.join(args.src, "manifest.jsonl"), "rb") as f, \
            open(os.path.join(args.out, "manifest.jsonl"), "wb") as g:
        for line in f:
            entry = json.loads(line)
            if entry["path"] in paths:
                # Not the local cache path, nor the SHA-1 (20 bytes that do not compress, times
                # every document): the trainer reads neither.
                entry.pop("file", None)
                entry.pop("sha1", None)
                g.write((json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode())
    with open(os.path.join(args.out, "pack.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    over = {l: s for l, s in shares.items() if s > args.max_share}
    if over:
        sys.exit(f"pack-corpus: above the {args.max_share:.0%} cap: " +
                 ", ".join(f"{l} {s:.1%}" for l, s in over.items()))


if __name__ == "__main__":
    main()
