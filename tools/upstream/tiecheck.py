"""Upstream side of the fuzz's tie check (inside the chroot): for encode cases whose codes differ, upstream's own
latents and residuals, and at each (item, frame) where the codes differ, the relative gap between the squared
distances of the best and second-best entries of the first codebook that differs there. Float32 latents of two
implementations differ by ~1e-6 relative, so entries closer than that can go either way.
  python3 /opt/harness/tiecheck.py /tmp/fuzz/<set>-<seed> <case id> [<case id> ...]
Prints, per case, a line "TIE <id> <largest such gap> <(item, frame) pairs>" after one line per pair."""
import json, os, sys
import numpy as np
import torch
from moshi.models import loaders

base, ids = sys.argv[1], set(sys.argv[2:])
cases = json.load(open(os.path.join(base, "cases.json")))
torch.set_num_threads(2)
with torch.no_grad():
    m = loaders.get_mimi(cases["checkpoint"], mimi_config=cases.get("moshi_config"), device="cpu", num_codebooks=cases["n_q"])
    for c in cases["cases"]:
        cid, kind = c["id"], c["kind"]
        if cid not in ids:
            continue
        nb, nq = c["batch"], c["nq"]
        x = torch.from_numpy(np.fromfile(os.path.join(base, "in", cid + ".f32"), dtype="<f4").reshape(nb, 1, -1).copy())
        pt = np.fromfile(os.path.join(base, "pt", cid + ".i32"), dtype="<i4")
        j4 = np.fromfile(os.path.join(base, "j4", cid + ".i32"), dtype="<i4")
        m.set_num_codebooks(nq)
        if kind == "enc":  # codes [B][K][T]
            emb = m._encode_to_unquantized_latent(x)
            pt, j4 = pt.reshape(nb, nq, -1), j4.reshape(nb, nq, -1)
        else:  # streaming, frame by frame as fuzz_pt.py: codes [F][K]
            with m.streaming(1):
                emb = torch.cat([m._encode_to_unquantized_latent(x[:, :, f * 1920:(f + 1) * 1920])
                                 for f in range(x.shape[-1] // 1920)], dim=-1)
            pt, j4 = pt.reshape(-1, nq).T[None], j4.reshape(-1, nq).T[None]
        gaps = np.zeros(pt.shape)
        q = m.quantizer
        for part, ks in ((q.rvq_first, range(0, 1)), (q.rvq_rest, range(1, nq))):
            r = part.input_proj(emb) if part.input_proj is not None else emb
            for i, k in enumerate(ks):
                layer = part.vq.layers[i]
                w = layer._codebook.embedding.double()
                d = ((r.permute(0, 2, 1).double()[:, :, None, :] - w[None, None]) ** 2).sum(-1)  # [B, T, bins]
                s = torch.topk(d, 2, dim=-1, largest=False).values
                gaps[:, k, :] = ((s[..., 1] - s[..., 0]) / s[..., 0].clamp_min(1e-30)).numpy()
                idx = layer.encode(r)
                if not (idx.numpy() == pt[:, k, :]).all():
                    sys.exit(f"{cid}: upstream's quantizer path does not reproduce its own codes at codebook {k}")
                r = r - layer.decode(idx)
        first = {}
        for b, k, t in np.argwhere(pt != j4):
            first[(b, t)] = min(k, first.get((b, t), k))
        worst = 0.0
        for (b, t), k in sorted(first.items()):
            worst = max(worst, gaps[b, k, t])
            print(f"{cid}: item {b} frame {t}: codebook {k} first differs (upstream {pt[b, k, t]}, mimi4j {j4[b, k, t]}); "
                  f"upstream's two nearest entries there are {gaps[b, k, t]:.3g} apart (relative squared distance)")
        print(f"TIE {cid} {worst:.6g} {len(first)}", flush=True)
