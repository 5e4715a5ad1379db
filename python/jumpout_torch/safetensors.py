"""The safetensors format, read and written with torch alone: an 8-byte
little-endian header length, a JSON header of {name: {dtype, shape,
data_offsets}} and "__metadata__", then each tensor's little-endian bytes."""

import json
import struct

import torch

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def read_safetensors(source):
    """Reads a file (a path, or its bytes): ({name: tensor}, {metadata})."""
    data = _bytes_of(source)
    if len(data) < 8:
        raise ValueError(f"Cannot read safetensors: the file must hold the 8-byte header length, got {len(data)} bytes")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError(f"Cannot read safetensors: header length must be at most {len(data) - 8}, got {length}")
    header = json.loads(data[8 : 8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + length :]
    tensors = {}
    for name, entry in header.items():
        if entry.get("dtype") not in DTYPES:
            raise ValueError(
                f"Cannot read safetensors: tensor {name!r} has dtype {entry.get('dtype')!r}, "
                f"expected one of {', '.join(DTYPES)}"
            )
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        flat = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.uint8)
        tensors[name] = flat.view(dtype).reshape(entry["shape"]) if end > begin else torch.zeros(entry["shape"], dtype=dtype)
    return tensors, metadata


def write_safetensors(tensors, metadata=None):
    """The bytes of a file holding `tensors` ({name: tensor}) in name order,
    and `metadata` ({str: str})."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in NAMES:
            raise ValueError(f"Cannot write safetensors: tensor {name!r} has dtype {t.dtype}, which the format lacks")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() > 0 else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def load_state_dict_file(model, source):
    """Loads a state dict saved as safetensors into `model`, strictly."""
    tensors, _ = read_safetensors(source)
    model.load_state_dict(tensors, strict=True)
    return model


def save_state_dict_file(model, path=None, metadata=None):
    """The model's state dict as safetensors bytes, also written to `path` when given."""
    data = write_safetensors(model.state_dict(), metadata)
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data


def _bytes_of(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()
