"""Reads and writes the safetensors format by hand (no `safetensors` package needed).

Layout: 8-byte little-endian header length N, N bytes of JSON header (padded with spaces to a
multiple of 8), then the raw little-endian tensor bytes. Each header entry is
{"dtype": "F32"|"BF16"|..., "shape": [...], "data_offsets": [begin, end]} with offsets relative to
the start of the data section; "__metadata__" holds string pairs.
"""
import json
import struct

import numpy as np
import torch

_TORCH_TO_ST = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
                torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
_ST_TO_TORCH = {v: k for k, v in _TORCH_TO_ST.items()}
# numpy has no bfloat16: BF16 data travels as raw int16 bit patterns.
_NUMPY_CARRIER = {"F32": "<f4", "BF16": "<i2", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def _tensor_bytes(tensor):
    tensor = tensor.detach().contiguous().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().astype("<i2").tobytes()
    return tensor.numpy().astype(_NUMPY_CARRIER[_TORCH_TO_ST[tensor.dtype]]).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor (written in sorted name order)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name]
        blob = _tensor_bytes(tensor)
        header[name] = {"dtype": _TORCH_TO_ST[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header_bytes)))
        out.write(header_bytes)
        for blob in blobs:
            out.write(blob)


def read_safetensors(path):
    """Returns (dict name -> torch.Tensor in the stored dtype, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise ValueError(f"{path}: header length {header_len} exceeds the file")
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        carrier = np.frombuffer(body[begin:end], dtype=_NUMPY_CARRIER[entry["dtype"]]).copy()
        tensor = torch.from_numpy(carrier.astype(carrier.dtype.newbyteorder("=")))
        if entry["dtype"] == "BF16":
            tensor = tensor.view(torch.bfloat16)
        tensors[name] = tensor.reshape(entry["shape"])
    return tensors, metadata
