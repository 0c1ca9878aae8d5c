#!/usr/bin/env python3
"""Checks torch.save files that zipit wrote with PyTorch itself; run by PyTorchWriterTorchLoadTests.

    /usr/bin/python3 check_torch_load.py state FILE.pt TWIN.safetensors [--module tiny_resnet]
    /usr/bin/python3 check_torch_load.py zip64 FILE MEMBER HEX_BYTES BIG_MEMBER BIG_SIZE

state: torch.load(FILE, weights_only=True) gives an OrderedDict whose tensors are TWIN's (same
names, dtypes, shapes and bits), each contiguous at the start of a storage of its own; torch.save
of that dict writes the very pickle FILE holds; PyTorch's own zip writer, given FILE's members in
FILE's order, writes FILE byte for byte; every member's data starts on a multiple of 64. With
--module, load_state_dict(strict=True) into that module takes it.

zip64: PyTorch's own zip reader (miniz) and Python's zipfile read MEMBER of FILE (past 4 GiB) as
HEX_BYTES, and both see BIG_MEMBER's size as BIG_SIZE.

Prints one "ok ..." line per check; exits 1 with the reason at the first that fails.
"""
import collections
import io
import os
import struct
import sys
import tempfile
import zipfile

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repository's fixtures
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import TinyResNet, read_safetensors, tensor_bytes  # noqa: E402

MODULES = {"tiny_resnet": TinyResNet}


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def data_offset(path, info):
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def check_state(path, twin_path, module):
    sd = torch.load(path, weights_only=True)
    if type(sd) is not collections.OrderedDict:
        fail(f"{path}: torch.load gave a {type(sd).__name__}, not an OrderedDict")
    twin = read_safetensors(twin_path)
    if sorted(sd) != sorted(twin):
        fail(f"{path}: keys {sorted(sd)[:5]}... differ from the twin's {sorted(twin)[:5]}...")
    pointers = set()
    for name, t in sd.items():
        want = twin[name]
        if type(t) is not torch.Tensor or t.dtype != want.dtype or t.shape != want.shape:
            fail(f"{path}: {name} is {type(t).__name__} {t.dtype} {tuple(t.shape)}, not {want.dtype} {tuple(want.shape)}")
        if tensor_bytes(t) != tensor_bytes(want):
            fail(f"{path}: {name} holds other values than the twin")
        if not t.is_contiguous() or t.storage_offset() != 0 or t.storage().size() != t.numel() or t.requires_grad:
            fail(f"{path}: {name} is not a plain contiguous tensor with a storage of its own")
        if t.numel():
            if t.data_ptr() in pointers:
                fail(f"{path}: {name} shares a storage")
            pointers.add(t.data_ptr())
    print(f"ok torch.load(weights_only=True): {len(sd)} tensors equal to {os.path.basename(twin_path)}'s")

    ours = zipfile.ZipFile(path)
    infos = ours.infolist()
    buffer = io.BytesIO()
    torch.save(sd, buffer)
    if zipfile.ZipFile(buffer).read("archive/data.pkl") != ours.read("archive/data.pkl"):
        fail(f"{path}: data.pkl differs from the pickle torch.save writes for the same dict")
    print("ok data.pkl is the pickle torch.save writes")

    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or data_offset(path, info) % 64:
            fail(f"{path}: member {info.filename} is compressed or starts at {data_offset(path, info)}, not on a multiple of 64")
    if ours.testzip() is not None:
        fail(f"{path}: a member's CRC-32 is wrong")
    with tempfile.TemporaryDirectory() as folder:
        copy = os.path.join(folder, "archive")  # PyTorch names the archive's folder after the file
        writer = torch._C.PyTorchFileWriter(copy)
        for info in infos:
            name = info.filename[len("archive/"):]
            if name != "version":  # PyTorch's writer adds it itself, last
                data = ours.read(info)
                writer.write_record(name, data, len(data))
        if infos[-1].filename != "archive/version":
            fail(f"{path}: the last member is {infos[-1].filename}, not archive/version")
        writer.write_end_of_file()
        del writer
        with open(copy, "rb") as f:
            theirs = f.read()
    with open(path, "rb") as f:
        if f.read() != theirs:
            fail(f"{path}: PyTorch's zip writer lays out the same members differently")
    print(f"ok {len(infos)} members stored on 64-byte boundaries, byte for byte as PyTorchFileWriter writes them")

    if module:
        model = MODULES[module]()
        model.load_state_dict(sd, strict=True)
        for name, t in model.state_dict().items():
            if not torch.equal(t, twin[name]):
                fail(f"{path}: {module}.{name} differs after load_state_dict")
        print(f"ok {module}.load_state_dict(strict=True)")


def check_zip64(path, member, hex_bytes, big_member, big_size):
    want = bytes.fromhex(hex_bytes)
    reader = torch._C.PyTorchFileReader(path)
    if reader.get_record(member) != want:
        fail(f"{path}: PyTorch's reader reads {member} as other bytes")
    z = zipfile.ZipFile(path)
    if z.read("archive/" + member) != want or z.getinfo("archive/" + big_member).file_size != int(big_size):
        fail(f"{path}: zipfile reads {member} or the size of {big_member} otherwise")
    print(f"ok PyTorch's reader and zipfile read {member} past 4 GiB and {big_member}'s {big_size} bytes")


def main():
    args = sys.argv[1:]
    if args[:1] == ["state"] and len(args) in (3, 5):
        module = args[4] if len(args) == 5 and args[3] == "--module" else None
        check_state(args[1], args[2], module)
    elif args[:1] == ["zip64"] and len(args) == 6:
        check_zip64(*args[1:])
    else:
        fail("usage: see the docstring")


if __name__ == "__main__":
    main()
