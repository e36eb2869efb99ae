#!/usr/bin/env python3
"""Writes the hand-made seed inputs under tests/fuzz/corpus/ (re-run after changing them).

Seeds only need to reach the interesting code; the fuzzer mutates from there. Real fixtures
(the parity model's config and safetensors, the tokenizer fixtures) are copied in as well.
"""
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def copy(target, name, source):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    shutil.copy(os.path.join(ROOT, source), os.path.join(CORPUS, target, name))


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data if isinstance(data, bytes) else data.encode())


def frame(message):
    body = json.dumps(message).encode() if not isinstance(message, bytes) else message
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id_, method, params=None):
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


def notification(method, params=None):
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


def lsp_seeds():
    # Option byte: bit 0 auto-initialize, bit 1 utf-8, bits 2-4 read size 2^k.
    init = 0x01 | (6 << 2)
    uri = "file:///w/a.py"
    doc = {"uri": uri, "languageId": "python", "version": 1, "text": "def f(x):\n    return x\n"}
    pos = {"line": 1, "character": 4}
    session = (
        notification("textDocument/didOpen", {"textDocument": doc})
        + notification("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                       "contentChanges": [{"range": {"start": pos, "end": pos}, "text": "\U0001F600é\r\n"}]})
        + request(2, "maskfill/debugDocument", {"uri": uri})
        + request(3, "textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": pos,
                  "context": {"triggerKind": 2}})
        + notification("$/cancelRequest", {"id": 3})
        + request(4, "maskfill/status", {})
        + request(5, "textDocument/codeAction", {"textDocument": {"uri": uri},
                  "range": {"start": {"line": 0, "character": 0}, "end": pos}, "context": {"diagnostics": []}})
        + request(6, "workspace/executeCommand", {"command": "maskfill.fill", "arguments": [{"uri": uri}]})
        + notification("workspace/didChangeConfiguration", {"settings": {"maskfill": {"modelPath": "/nonexistent"}}})
        + notification("textDocument/didSave", {"textDocument": {"uri": uri}})
        + notification("textDocument/didClose", {"textDocument": {"uri": uri}})
        + request(7, "shutdown") + notification("exit"))
    write("lsp_messages", "session", bytes([init]) + session)
    write("lsp_messages", "session_utf8_bytewise", bytes([0x03]) + session)
    write("lsp_messages", "lifecycle", bytes([6 << 2]) + request(1, "textDocument/hover", {}) +
          request(2, "initialize", {"capabilities": {}}) + request(3, "initialize", {"capabilities": {}}) +
          notification("initialized", {}) + request("s", "shutdown") + request(4, "maskfill/status") +
          notification("exit"))
    write("lsp_messages", "bad_frames", bytes([init]) +
          b"Content-Length: -5\r\n\r\n{}" + b"Content-Length: abc\r\n\r\n" +
          b"Content-Length: 99999999999999999999999\r\n\r\n" + b"Content-Type: x\r\n\r\n{}" +
          b"garbage\r\n\r\n" + frame(b"{not json") + frame(b"[1,2]") + frame(b"\xff\xfe") +
          frame(b'{"jsonrpc":"2.0","id":{"a":1},"method":"x"}') + frame(b'{"jsonrpc":"1.0","id":1,"method":"x"}') +
          frame(b'{"jsonrpc":"2.0","id":9,"result":1}') + frame(b'{"jsonrpc":"2.0","id":"maskfill-1","result":null}') +
          frame(b"[" * 3000 + b"]" * 3000) + request(10, "unknown/method", []) + request(11, "maskfill/debugDocument", {"uri": 5}))
    write("lsp_messages", "positions", bytes([init | 2]) +
          notification("textDocument/didOpen", {"textDocument": dict(doc, text="a\r\nb\rc\n\u20ac")}) +
          notification("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
              {"range": {"start": {"line": 99, "character": 4294967295}, "end": {"line": 4294967295, "character": 0}}, "text": "z"},
              {"range": {"start": {"line": 1, "character": -1}, "end": {"line": 0, "character": 0}}, "text": "z"},
              {"text": "full"}]}) +
          request(2, "textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": {"line": 1e9, "character": 1}}))


def edit_seeds():
    rng = random.Random(7)
    for i, mode in enumerate([0, 1, 2, 3, 4, 5, 9, 12]):
        write("document_edits", "random_%d" % i, bytes([mode]) + bytes(rng.randrange(256) for _ in range(300)))


def safetensors_file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    write("safetensors", "two_tensors", safetensors_file(
        {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
         "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}, bytes(range(22))))
    write("safetensors", "empty_header", safetensors_file({}))
    write("safetensors", "scalar_and_empty", safetensors_file(
        {"s": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}, "e": {"dtype": "U8", "shape": [0, 5], "data_offsets": [8, 8]}},
        bytes(8)))
    write("safetensors", "lying_offsets", safetensors_file(
        {"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 800]}}, bytes(8)))
    write("safetensors", "huge_header_length", struct.pack("<Q", 2**63) + b"{}")
    copy("safetensors", "tiny_model", "tests/fixtures/parity/tiny-f32/model.safetensors")


def config_seeds():
    copy("model_config", "tiny_f32", "tests/fixtures/parity/tiny-f32/config.json")
    write("model_config", "diffcoder_8b", json.dumps({
        "architectures": ["LlamaForCausalLM"], "auto_map": {"AutoModelForCausalLM": "modeling_diffcoder.DiffCoder"},
        "model_type": "llama", "vocab_size": 155136, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 8192, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
        "bos_token_id": [0], "eos_token_id": 2, "mask_token_id": 5, "torch_dtype": "bfloat16",
        "tie_word_embeddings": False, "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}}))
    write("model_config", "tokenizer_config", json.dumps({
        "add_bos_token": True, "bos_token": {"content": "<s>"}, "eos_token": "</s>", "pad_token": None,
        "chat_template": [{"name": "default", "template": "{{ messages }}"}]}))


def tokenizer_seeds():
    for style in ("gpt2-style", "llama3-style", "seedcoder-style"):
        copy("tokenizer", style, "tests/fixtures/tokenizers/%s/tokenizer.json" % style)
    vocab = {chr(c): i for i, c in enumerate(range(ord("a"), ord("h")))}
    vocab.update({"ab": 7, "abc": 8, "\u0120": 9, "\u0120a": 10})
    tiny = {"version": "1.0", "added_tokens": [{"id": 11, "content": "<|fim|>", "special": True, "single_word": False,
                                                "lstrip": False, "rstrip": False, "normalized": False}],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\s+|\\w+|[^\\s\\w]+"}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab, "merges": ["a b", "ab c", "\u0120 a"]}}
    write("tokenizer", "tiny", json.dumps(tiny))
    write("tokenizer", "tiny_with_text", json.dumps(tiny).encode() + b"\0 abc <|fim|>ab\xf0\x9f\x98\x80\n\xc3")


def serve_http_seeds():
    # Byte 0: bit 0 API key, bit 1 CORS (bit 2: "*"), bit 3 draining, bits 4-5 body limit
    # (4 MiB, 16, 0, 1024); byte 1: read size 2^(b % 8); then the client's bytes.
    key = b"Authorization: Bearer secret-key-0123456789\r\n"
    body = b'{"prompt": "a = 1\\n", "max_tokens": 8}'
    post = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    chunked = (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + key +
               b"\r\n5;ext=1\r\n{\"a\":\r\n2\r\n1}\r\n0\r\nTrailer: x\r\n\r\n")
    write("serve_http", "keyed_keepalive", bytes([0x01, 3]) + post + key + b"\r\n" + body +
          b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    write("serve_http", "chunked", bytes([0x01, 0]) + chunked)
    write("serve_http", "chunked_over_limit", bytes([0x11, 7]) + chunked)
    write("serve_http", "smuggling", bytes([0x00, 7]) +
          b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n" +
          b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n")
    write("serve_http", "length_and_chunked", bytes([0x00, 7]) +
          b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write("serve_http", "preflight", bytes([0x03, 5]) +
          b"OPTIONS /v1/completions HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
          b"Access-Control-Request-Method: POST\r\n\r\n")
    write("serve_http", "keyless_huge_length", bytes([0x01, 7]) +
          b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n{")
    write("serve_http", "draining", bytes([0x08, 7]) + b"GET /health HTTP/1.0\r\n\r\n")
    write("serve_http", "expect_continue_http10", bytes([0x00, 2]) +
          b"POST /v1/completions HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}")
    write("serve_http", "malformed", bytes([0x00, 7]) + b"GET / HTTP/1.1\r\nBad Header\r\n\r\nGET\x00 / HTTP/9.9\r\n\r\n")


if __name__ == "__main__":
    lsp_seeds()
    edit_seeds()
    safetensors_seeds()
    config_seeds()
    tokenizer_seeds()
    serve_http_seeds()
