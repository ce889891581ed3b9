#!/usr/bin/env python3
"""Extracts real trained weights from two npm packages as benchmark data.

  extract.py --pose SRC --vad SRC OUT_DIR [--json]

SRC is the package's directory (holding its package.json) or its npm tarball (.tgz).

  --pose  @mediapipe/pose: pose_landmark_heavy.tflite, a TFLite flatbuffer. Every
          FLOAT16 tensor that has data (the weights), and any FLOAT32 one.
  --vad   @ricky0123/vad-web: dist/silero_vad_v5.onnx, an ONNX protobuf. Every FLOAT
          initializer and Constant tensor, subgraphs (If/Loop bodies) included, except
          the STFT basis: computed from a window and the DFT, not trained.

Writes into OUT_DIR: fp16.bin, fp32.bin (the tensors back to back, little-endian),
bf16.bin (the FP32 weights rounded to BF16, nearest-even), and pose-fp16.safetensors,
vad-fp32.safetensors, vad-bf16.safetensors (the same tensors with their names and
shapes). Each .bin is byte for byte the data section of its safetensors file (FLOAT32
tensors of the pose model, none in this one, would follow the F16 ones in
pose-fp16.safetensors, not in fp16.bin).
Prints a summary; with --json, as JSON. Python 3 standard library only.
"""
import argparse
import array
import collections
import json
import os
import pathlib
import struct
import sys
import tarfile

POSE_FILE = "pose_landmark_heavy.tflite"
VAD_FILE = "dist/silero_vad_v5.onnx"
ITEMSIZE = {"F16": 2, "F32": 4, "BF16": 2}

Tensor = collections.namedtuple("Tensor", "name dtype shape data")


# --- sources ---------------------------------------------------------------------


def read_package_file(src, member):
    """(package.json as a dict, the member's bytes) from a package dir or npm tarball."""
    try:
        if os.path.isdir(src):
            pkg, data = (pathlib.Path(src, m).read_bytes() for m in ("package.json", member))
        else:
            with tarfile.open(src, "r:gz") as tar:
                pkg, data = (tar.extractfile("package/" + m).read()
                             for m in ("package.json", member))
        return json.loads(pkg), data
    except (OSError, KeyError, tarfile.TarError, ValueError) as e:
        sys.exit(f"extract.py: {src}: cannot read package.json and {member} ({e})")


# --- FlatBuffers, enough for TFLite ----------------------------------------------


def u32(buf, pos):
    return struct.unpack_from("<I", buf, pos)[0]


class Table:
    """A FlatBuffers table at buf[pos]; fields are found through its vtable."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]

    def field(self, i):
        """Absolute position of field i, or None when absent."""
        entry = 4 + 2 * i
        if entry >= struct.unpack_from("<H", self.buf, self.vtable)[0]:
            return None
        off = struct.unpack_from("<H", self.buf, self.vtable + entry)[0]
        return self.pos + off if off else None

    def scalar(self, i, fmt, default=0):
        p = self.field(i)
        return default if p is None else struct.unpack_from("<" + fmt, self.buf, p)[0]

    def vector(self, i):
        """(position of the first element, length) of vector field i; (0, 0) if absent."""
        p = self.field(i)
        if p is None:
            return 0, 0
        start = p + u32(self.buf, p)
        return start + 4, u32(self.buf, start)

    def tables(self, i):
        start, n = self.vector(i)
        return [Table(self.buf, start + 4 * k + u32(self.buf, start + 4 * k)) for k in range(n)]

    def ints(self, i):
        start, n = self.vector(i)
        return list(struct.unpack_from(f"<{n}i", self.buf, start))

    def bytes(self, i):
        start, n = self.vector(i)
        return self.buf[start:start + n]

    def string(self, i):
        return bytes(self.bytes(i)).decode("utf-8", "replace")


# TFLite schema: Model{subgraphs: 2, buffers: 4}, SubGraph{tensors: 0},
# Tensor{shape: 0, type: 1, buffer: 2, name: 3}, Buffer{data: 0, offset: 1, size: 2}.
TFLITE_TYPES = {0: "F32", 1: "F16"}


def tflite_buffer_data(buf, buffer):
    """A Buffer's bytes: inline, or (models over 2 GB) at an offset in the file."""
    offset, size = buffer.scalar(1, "Q"), buffer.scalar(2, "Q")
    if offset > 1:
        return buf[offset:offset + size]
    return buffer.bytes(0)


def tflite_tensors(buf):
    """The FLOAT16 and FLOAT32 tensors that carry data, each buffer once."""
    if bytes(buf[4:8]) != b"TFL3":
        sys.exit("extract.py: not a TFLite flatbuffer (no TFL3 identifier)")
    model = Table(buf, u32(buf, 0))
    buffers, seen = model.tables(4), set()
    for subgraph in model.tables(2):
        for t in subgraph.tables(0):
            dtype, index = TFLITE_TYPES.get(t.scalar(1, "b")), t.scalar(2, "I")
            if dtype is None or index in seen:
                continue
            data = tflite_buffer_data(buf, buffers[index])
            if len(data):
                seen.add(index)
                yield Tensor(t.string(3), dtype, t.ints(0), bytes(data))


# --- protobuf wire format, enough for ONNX ---------------------------------------


def varint(buf, pos):
    value = shift = 0
    while True:
        b = buf[pos]
        value |= (b & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if b < 0x80:
            return value, pos


def pb_fields(buf):
    """Yields (field number, wire type, value): an int for varints, bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        else:
            sys.exit(f"extract.py: unsupported protobuf wire type {wire}")
        yield num, wire, value


def packed_varints(buf):
    pos, out = 0, []
    while pos < len(buf):
        v, pos = varint(buf, pos)
        out.append(v)
    return out


# ONNX: TensorProto{dims: 1, data_type: 2, float_data: 4, name: 8, raw_data: 9,
# data_location: 14}; data_type FLOAT = 1.
def onnx_tensor(buf, default_name):
    """A FLOAT TensorProto as a Tensor; None for other element types."""
    name, dims, dtype, chunks = default_name, [], 0, []
    for num, wire, v in pb_fields(buf):
        if num == 1:
            dims += packed_varints(v) if wire == 2 else [v]
        elif num == 2:
            dtype = v
        elif num in (4, 9):  # float_data (packed or not) and raw_data: LE floats
            chunks.append(bytes(v))
        elif num == 8 and v:
            name = bytes(v).decode()
        elif num == 14 and v == 1:
            sys.exit(f"extract.py: tensor {name} has external data")
    if dtype != 1:
        return None
    return Tensor(name, "F32", dims, b"".join(chunks))


def first_string(fields, num):
    return next((bytes(v).decode() for n, _, v in fields if n == num), "")


# NodeProto{output: 2, name: 3, op_type: 4, attribute: 5};
# AttributeProto{name: 1, t: 5, g: 6, tensors: 10, graphs: 11}.
def onnx_node_tensors(buf, scope):
    """A Constant node's value (named after its output); the subgraphs of any node."""
    fields = list(pb_fields(buf))
    is_constant = first_string(fields, 4) == "Constant"
    for attr in (v for n, _, v in fields if n == 5):
        attr_fields = list(pb_fields(attr))
        for num, _, v in attr_fields:
            if num in (5, 10) and is_constant:
                t = onnx_tensor(v, first_string(fields, 2))
                if t:
                    yield t._replace(name=scope + t.name)
            elif num in (6, 11):
                subscope = f"{scope}{first_string(fields, 3)}.{first_string(attr_fields, 1)}/"
                yield from onnx_graph_tensors(v, subscope)


# GraphProto{node: 1, initializer: 5}; ModelProto{graph: 7}.
def onnx_graph_tensors(buf, scope=""):
    for num, _, v in pb_fields(buf):
        if num == 5:
            t = onnx_tensor(v, "")
            if t:
                yield t._replace(name=scope + t.name)
        elif num == 1:
            yield from onnx_node_tensors(v, scope)


def onnx_tensors(buf):
    graph = next((v for num, _, v in pb_fields(buf) if num == 7), None)
    if graph is None:
        sys.exit("extract.py: not an ONNX model (no graph)")
    return onnx_graph_tensors(graph)


def is_stft(t):
    """Silero's STFT block: the forward basis (cos/sin rows of a Hann-windowed DFT) and
    its scalar constants. Computed, not trained."""
    return "stft" in t.name.lower() or "basis" in t.name.lower()


# --- conversions and output ------------------------------------------------------


def check_size(t):
    n = 1
    for d in t.shape:
        n *= d
    if n * ITEMSIZE[t.dtype] != len(t.data):
        sys.exit(f"extract.py: {t.name}: shape {t.shape} does not match {len(t.data)} bytes")
    return t


def words(data, typecode):
    """Little-endian bytes as an array of unsigned words."""
    a = array.array(typecode, data)
    if sys.byteorder == "big":
        a.byteswap()
    return a


def to_bf16(data):
    """FP32 bytes -> BF16 bytes, round to nearest even; NaNs stay (quiet) NaNs."""
    out = array.array("H")
    for bits in words(data, "I"):
        if bits & 0x7FFFFFFF > 0x7F800000:
            out.append((bits >> 16) | 0x0040)
        else:
            out.append((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def safetensors_header(tensors, metadata):
    """u64 LE length, then the JSON header padded with spaces to a multiple of 8."""
    header, offset = {"__metadata__": metadata}, 0
    for t in tensors:
        if t.name in header:
            sys.exit(f"extract.py: two tensors named {t.name}")
        header[t.name] = {"dtype": t.dtype, "shape": t.shape,
                          "data_offsets": [offset, offset + len(t.data)]}
        offset += len(t.data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text


def write_file(path, tensors, metadata):
    """The tensors back to back; behind a safetensors header unless metadata is None."""
    with open(path, "wb") as f:
        if metadata is not None:
            f.write(safetensors_header(tensors, metadata))
        for t in tensors:
            f.write(t.data)


# --- main ------------------------------------------------------------------------


def source(pkg, member):
    return f"{pkg.get('name')}@{pkg.get('version')} {member}"


def extract_pose(src):
    """(package.json, tensors), F16 first: fp16.bin is then the safetensors' data."""
    pkg, model = read_package_file(src, POSE_FILE)
    tensors = [check_size(t) for t in tflite_tensors(memoryview(model))]
    return pkg, sorted(tensors, key=lambda t: t.dtype != "F16")


def extract_vad(src):
    """(package.json, trained tensors, skipped STFT tensors)."""
    pkg, model = read_package_file(src, VAD_FILE)
    tensors = [check_size(t) for t in onnx_tensors(memoryview(model))]
    return (pkg, [t for t in tensors if not is_stft(t)],
            [t for t in tensors if is_stft(t)])


def outputs(pose, vad, bf16, pose_meta, vad_meta):
    """{file name: (tensors, safetensors metadata, None for a bare .bin)}."""
    return {
        "fp16.bin": ([t for t in pose if t.dtype == "F16"], None),
        "fp32.bin": (vad, None),
        "bf16.bin": (bf16, None),
        "pose-fp16.safetensors": (pose, pose_meta),
        "vad-fp32.safetensors": (vad, vad_meta),
        "vad-bf16.safetensors": (bf16, vad_meta),
    }


def stats(tensors, dtype=None):
    tensors = [t for t in tensors if dtype in (None, t.dtype)]
    return {"tensors": len(tensors), "bytes": sum(len(t.data) for t in tensors)}


def summarize(pose_pkg, vad_pkg, pose, vad, bf16, skipped, files):
    return {
        "pose": {"source": source(pose_pkg, POSE_FILE), "license": pose_pkg.get("license"),
                 "F16": stats(pose, "F16"), "F32": stats(pose, "F32")},
        "vad": {"source": source(vad_pkg, VAD_FILE), "license": vad_pkg.get("license"),
                "F32": stats(vad), "BF16": stats(bf16),
                "skipped": [{"name": t.name, "shape": t.shape, "bytes": len(t.data)}
                            for t in skipped]},
        "files": files,
    }


def print_summary(s):
    for key in ("pose", "vad"):
        m = s[key]
        print(f"{key}: {m['source']} ({m['license']})")
        for dtype in ("F16", "F32", "BF16"):
            if dtype in m:
                print(f"  {dtype:5}{m[dtype]['tensors']:4} tensors {m[dtype]['bytes']:>12,} bytes")
    skipped = s["vad"]["skipped"]
    print(f"vad skipped (STFT, computed, not trained): {len(skipped)} tensors, "
          f"{sum(t['bytes'] for t in skipped):,} bytes")
    for t in skipped:
        print(f"  {t['name']} {t['shape']}")
    for name, size in s["files"].items():
        print(f"{name:22}{size:>12,} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pose", required=True, help="@mediapipe/pose: package dir or .tgz")
    ap.add_argument("--vad", required=True, help="@ricky0123/vad-web: package dir or .tgz")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("out_dir")
    args = ap.parse_args()

    pose_pkg, pose = extract_pose(args.pose)
    vad_pkg, vad, skipped = extract_vad(args.vad)
    bf16 = [t._replace(dtype="BF16", data=to_bf16(t.data)) for t in vad]
    os.makedirs(args.out_dir, exist_ok=True)
    files = {}
    for name, (tensors, meta) in outputs(pose, vad, bf16,
                                         {"source": source(pose_pkg, POSE_FILE)},
                                         {"source": source(vad_pkg, VAD_FILE)}).items():
        path = os.path.join(args.out_dir, name)
        write_file(path, tensors, meta)
        files[name] = os.path.getsize(path)
    summary = summarize(pose_pkg, vad_pkg, pose, vad, bf16, skipped, files)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)


if __name__ == "__main__":
    main()
