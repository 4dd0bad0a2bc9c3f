# Interop helper for the tests: `load DIR` prints what torch.load(weights_only=True) sees in each
# .pt file of DIR as JSON; `save DIR` writes .pt files with torch.save (views, offsets, shared
# storages, containers, legacy format) plus expected.json with their values.
import json, os, sys
import torch

def describe(t):
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
            "values": [float(v) if t.is_floating_point() else int(v) for v in t.flatten().tolist()],
            "contiguous": t.is_contiguous()}

def flat(obj, prefix=""):
    if isinstance(obj, torch.Tensor):
        return {prefix: describe(obj)}
    out = {}
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for k, v in items:
        out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out

mode, d = sys.argv[1], sys.argv[2]
if mode == "load":
    res = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".pt"):
            try:
                res[name] = flat(torch.load(os.path.join(d, name), weights_only=True))
            except Exception as e:  # reported, the test fails on it
                res[name] = {"error": repr(e)}
    print(json.dumps(res))
elif mode == "save":
    torch.manual_seed(0)
    base = torch.arange(0, 2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4) / 7
    cases = {
        "contiguous_f32": base,
        "uint8": torch.arange(0, 200, dtype=torch.uint8).reshape(10, 20),
        "int64": torch.tensor([-5, 0, 7, 2**40, -(2**50)], dtype=torch.int64),
        "sliced": base[1:, 1:, ::2],
        "permuted": base.permute(2, 0, 1),
        "transposed_u8": torch.arange(0, 30, dtype=torch.uint8).reshape(5, 6).t(),
        "offset_i64": torch.arange(0, 100, dtype=torch.int64)[37:45],
        "scalar": torch.tensor(3.5, dtype=torch.float64),
        "expanded": torch.tensor([1.0, 2.0]).expand(3, 2),
        "int32": torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
        "empty": torch.zeros(0, 28, 28),
        "bfloat16": torch.tensor([[1.5, -2.25], [3.0e38, 0.0]], dtype=torch.bfloat16).t(),
        "float16": torch.tensor([0.5, -65504.0, 1e-7], dtype=torch.float16),
    }
    expected = {}
    for name, t in cases.items():
        torch.save(t, os.path.join(d, name + ".pt"))
        expected[name + ".pt"] = flat(t)
    shared = torch.arange(0, 10, dtype=torch.float32)
    containers = {
        "shared_dict": {"a": shared[:5], "b": shared[5:], "c": shared.view(2, 5)},
        "list": [torch.ones(2, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64)],
        "tuple": (torch.tensor([1.5]), torch.tensor([2], dtype=torch.int64)),
    }
    from collections import OrderedDict
    containers["ordered"] = OrderedDict([("w", torch.eye(2)), ("b", torch.tensor([0.25, -1.0]))])
    for name, obj in containers.items():
        torch.save(obj, os.path.join(d, name + ".pt"))
        expected[name + ".pt"] = flat(obj)
    for name in ["sliced", "offset_i64", "uint8"]:
        torch.save(cases[name], os.path.join(d, "legacy_" + name + ".pt"), _use_new_zipfile_serialization=False)
        expected["legacy_" + name + ".pt"] = flat(cases[name])
    # the same archive rewritten with deflate compression (zip tools do this to .pt files)
    import zipfile
    src = os.path.join(d, "sliced.pt")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(os.path.join(d, "deflated.pt"), "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename))
    expected["deflated.pt"] = expected["sliced.pt"]
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f)
