"""Upstream side of the differential fuzz: moshi's Mimi on the cases in /tmp/fuzz/<set>/cases.json (inside the chroot).
Inputs and outputs are raw little-endian files next to it: in/<id>.f32 (audio [B][L]) or in/<id>.i32 (codes [K][T]);
pt/<id>.i32 (codes [B][K][T] or streaming [F][K]) or pt/<id>.f32 (audio)."""
import json, os, sys
import numpy as np
import torch
from moshi.models import loaders

base = sys.argv[1]
cases = json.load(open(os.path.join(base, "cases.json")))
torch.set_num_threads(2)
cfg = cases.get("moshi_config")
with torch.no_grad():
    model = loaders.get_mimi(cases["checkpoint"], mimi_config=cfg, device="cpu", num_codebooks=cases["n_q"])
    os.makedirs(os.path.join(base, "pt"), exist_ok=True)
    for c in cases["cases"]:
        cid, kind = c["id"], c["kind"]
        out = os.path.join(base, "pt", cid)
        if kind in ("enc", "senc"):
            x = np.fromfile(os.path.join(base, "in", cid + ".f32"), dtype="<f4").reshape(c["batch"], 1, -1)
            model.set_num_codebooks(c["nq"])
            if kind == "enc":
                codes = model.encode(torch.from_numpy(x.copy()))
                codes.numpy().astype("<i4").tofile(out + ".i32")
            else:
                got = []
                with model.streaming(1):
                    for f in range(x.shape[-1] // 1920):
                        got.append(model.encode(torch.from_numpy(x[:, :, f * 1920:(f + 1) * 1920].copy()))[0, :, 0].numpy())
                np.stack(got).astype("<i4").tofile(out + ".i32")
        else:
            k, t = c["k"], c["t"]
            codes = torch.from_numpy(np.fromfile(os.path.join(base, "in", cid + ".i32"), dtype="<i4").reshape(1, k, t).astype(np.int64))
            if kind == "dec":
                y = model.decode(codes)
            else:
                ys = []
                with model.streaming(1):
                    for f in range(t):
                        ys.append(model.decode(codes[:, :, f:f + 1]))
                y = torch.cat(ys, dim=-1)
            y[0, 0].numpy().astype("<f4").tofile(out + ".f32")
        print(cid, flush=True)
