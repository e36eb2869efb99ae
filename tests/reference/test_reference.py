"""Self-tests of the Python reference (run: python3 -m unittest discover -s tests/reference).
They check the reference against independent formulations, so the fixtures it writes can be
trusted: the official kron-based mask, cached vs full forwards, the safetensors layout, the
SplitMix64 published vector, and the schedule arithmetic of §4."""
import json
import os
import struct
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from generate_block import (SplitMix64, block_sizes, generate_autoregressive,  # noqa: E402
                            generate_block, split_steps)
from llama_reference import (BIDIRECTIONAL, BLOCK_CAUSAL, CAUSAL, LlamaConfig,  # noqa: E402
                             LlamaReference, attention_mask, parameter_shapes)
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "fixtures", "parity")


def tiny_model(seed=0, dtype=torch.float32):
    c = LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=4, rope_theta=10000.0,
                    rms_norm_eps=1e-6, max_position_embeddings=128)
    g = torch.Generator().manual_seed(seed)
    w = {n: torch.randn(s, generator=g) for n, s in parameter_shapes(c).items()}
    return LlamaReference(c, w, dtype=dtype)


class MaskTest(unittest.TestCase):
    def test_block_causal_equals_official_kron_construction(self):
        for n, b in [(11, 4), (16, 4), (7, 3)]:
            blocks = -(-n // b)
            official = torch.kron(torch.tril(torch.ones(blocks, blocks)), torch.ones(b, b))[:n, :n].bool()
            self.assertTrue(torch.equal(attention_mask(BLOCK_CAUSAL, 0, n, n, b), official))
            # rows [5, n) of the same matrix, as the cached forwards use them
            self.assertTrue(torch.equal(attention_mask(BLOCK_CAUSAL, 5, n - 5, n, b), official[5:]))

    def test_causal_and_bidirectional(self):
        self.assertTrue(torch.equal(attention_mask(CAUSAL, 0, 5, 5), torch.ones(5, 5).tril().bool()))
        self.assertTrue(bool(attention_mask(BIDIRECTIONAL, 2, 3, 5).all()))


class ForwardTest(unittest.TestCase):
    def test_cached_block_forwards_equal_full_block_causal_rows(self):
        m = tiny_model()
        ids = torch.randint(0, 40, (14,), generator=torch.Generator().manual_seed(3))
        full = m.forward(ids, BLOCK_CAUSAL)
        cache = m.new_cache(16)
        m.forward(ids[:8], BLOCK_CAUSAL, cache, commit=True)
        denoise = m.forward(ids[8:12], BLOCK_CAUSAL, cache, commit=False)
        self.assertEqual(cache.length, 8)  # a denoise pass leaves the cache as it was
        m.forward(ids[8:12], BLOCK_CAUSAL, cache, commit=True)
        tail = m.forward(ids[12:14], BLOCK_CAUSAL, cache)
        tol = 1e-6 * float(full.abs().max())
        torch.testing.assert_close(denoise, full[8:12], rtol=0, atol=tol)
        torch.testing.assert_close(tail, full[12:14], rtol=0, atol=tol)

    def test_cached_causal_steps_equal_full_causal(self):
        m = tiny_model(1)
        ids = list(range(3, 13))
        full = m.forward(ids, CAUSAL)
        cache = m.new_cache(10)
        rows = [m.forward(ids[:6], CAUSAL, cache, commit=True)]
        rows += [m.forward([t], CAUSAL, cache, commit=True) for t in ids[6:]]
        torch.testing.assert_close(torch.cat(rows), full, rtol=0, atol=1e-6 * float(full.abs().max()))

    def test_modes_differ_where_they_should(self):
        m = tiny_model(2)
        ids = list(range(5, 16))
        bc, ca, bi = (m.forward(ids, mode) for mode in (BLOCK_CAUSAL, CAUSAL, BIDIRECTIONAL))
        self.assertEqual(tuple(bc.shape), (11, 40))
        self.assertFalse(torch.allclose(bc[:4], ca[:4]))  # block 0 is bidirectional inside
        self.assertFalse(torch.allclose(bc[:4], bi[:4]))  # but does not see later blocks

    def test_rejects_wrong_shapes(self):
        m = tiny_model()
        w = dict(m.w)
        w["lm_head.weight"] = torch.zeros(3, 3)
        with self.assertRaises(ValueError):
            LlamaReference(m.config, w)


class SafetensorsTest(unittest.TestCase):
    def test_roundtrip_and_layout(self):
        tensors = {"b": torch.randn(3, 5).to(torch.bfloat16), "a": torch.randn(7)}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.safetensors")
            write_safetensors(path, tensors, {"format": "pt"})
            data = open(path, "rb").read()
            (n,) = struct.unpack("<Q", data[:8])
            self.assertEqual(n % 8, 0)
            header = json.loads(data[8:8 + n])
            self.assertEqual(header["a"], {"dtype": "F32", "shape": [7], "data_offsets": [0, 28]})
            self.assertEqual(header["b"]["dtype"], "BF16")
            self.assertEqual(len(data), 8 + n + 28 + 30)
            back, meta = read_safetensors(path)
            self.assertEqual(meta, {"format": "pt"})
            for k in tensors:
                self.assertEqual(back[k].dtype, tensors[k].dtype)
                self.assertTrue(torch.equal(back[k], tensors[k]))


class ScheduleTest(unittest.TestCase):
    def test_splitmix64_published_vector(self):
        r = SplitMix64(1234567)
        self.assertEqual([r.next_u64() for _ in range(3)],
                         [6457827717110365317, 3203168211198807973, 9817491932198370423])
        u = SplitMix64(0).next_uniform()
        self.assertTrue(0.0 < u < 1.0)

    def test_split_and_block_sizes(self):
        self.assertEqual(split_steps(4, 4), [1, 1, 1, 1])
        self.assertEqual(split_steps(3, 2), [2, 1])
        self.assertEqual(split_steps(2, 4), [1, 1, 0, 0])
        self.assertEqual(block_sizes(8, 16, 4), [4, 4, 4, 4])
        self.assertEqual(block_sizes(10, 16, 4), [2, 4, 4, 4, 2])
        self.assertEqual(block_sizes(5, 4, 4), [3, 1])

    def test_one_token_per_step_nfe(self):
        m = tiny_model(4)
        r = generate_block(m, [1, 2, 3, 4, 6, 7], gen_length=8, steps=8, mask_id=5)
        blocks = len(block_sizes(6, 8, 4))
        self.assertEqual((r.denoise_forwards, r.commit_forwards), (8, blocks))
        self.assertEqual(len(r.ids), 8)
        self.assertNotIn(5, r.ids)

    def test_threshold_edge_case_fixed(self):
        m = tiny_model(5)
        fixed = generate_block(m, [1, 2, 3, 4], gen_length=8, steps=2, mask_id=5, threshold=0.999)
        self.assertNotIn(5, fixed.ids)
        self.assertEqual(fixed.denoise_forwards, 8)  # nothing reaches 0.999: one token per step

    def test_ar_greedy_is_argmax_of_shifted_logits(self):
        m = tiny_model(6)
        prompt = [1, 7, 9]
        r = generate_autoregressive(m, prompt, 5)
        full = m.forward(prompt + r.ids[:-1], CAUSAL)
        self.assertEqual(full[len(prompt) - 1:].argmax(-1).tolist(), r.ids)


@unittest.skipUnless(os.path.exists(os.path.join(FIXTURES, "cases.json")), "no fixtures")
class FixtureTest(unittest.TestCase):
    def test_fixture_models_load_and_reproduce_first_cases(self):
        with open(os.path.join(FIXTURES, "cases.json")) as f:
            cases = json.load(f)
        logits, _ = read_safetensors(os.path.join(FIXTURES, cases["logits_file"]))
        models = {}
        for entry in cases["logits"]:
            if entry["compute_dtype"] != "float32":
                continue
            model = models.setdefault(entry["model"], LlamaReference.load(os.path.join(FIXTURES, entry["model"])))
            got = model.forward(entry["input_ids"], entry["mode"])
            want = logits[entry["tensor"]]
            self.assertLessEqual(float((got - want).abs().max()),
                                 entry["tolerance_rel"] * float(want.abs().max()), entry["name"])
        for case in cases["generate"]:
            o = case["options"]
            r = generate_block(models[case["model"]], case["prompt_ids"], gen_length=o["gen_length"],
                               steps=o["steps"], block_length=o["block_length"],
                               temperature=o["temperature"], remasking=o["remasking"],
                               mask_id=o["mask_id"], threshold=o["threshold"], eos_id=o["eos_id"],
                               seed=o["seed"], rng=o["rng"])
            self.assertEqual(r.ids, case["expected"]["ids"], case["name"])
            self.assertEqual(r.nfe, case["expected"]["nfe"], case["name"])


if __name__ == "__main__":
    unittest.main()
