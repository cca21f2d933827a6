"""Upstream side of the side-by-side harness: moshi's Mimi (untouched source on PYTHONPATH) on Debian's PyTorch, run
inside the trixie chroot by chroot.sh. Loads the checkpoint once with moshi.models.loaders.get_mimi(file, 'cpu')
(strict load_state_dict), warms up with one 10 s encode, then answers one JSON line per command read from stdin:

  encode8 | encode32      model.encode of the 60 s input with 8 / 32 codebooks
  decode                  model.decode of the 8-codebook codes of the 60 s input
  stream1 [FRAMES]        model.streaming(1): per 80 ms frame, encode 1920 samples and decode its codes (default 200)
  stream16 [FRAMES]       model.streaming(16): the same for 16 streams batched (default 60)
  load                    get_mimi(file) again (the model is then dropped)
  quit

Times are taken around the work only (perf_counter_ns). Each answer carries the SHA-256 of the codes as little-endian
int32: offline [K][T], streams [frame][stream][K]; mimi4j's side (MimiServer.java) hashes the same layout.
Progress and diagnostics go to stderr; stdout carries only the JSON lines.
"""
import argparse
import gc
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

SR = 24000
FRAME = 1920
STREAM_OFFSET = 88000  # stream i starts i*88000 samples into the input (wrapping), as in MimiServer.java


def log(*a):
    print("[pytorch]", *a, file=sys.stderr, flush=True)


def sha_codes(arr):
    return hashlib.sha256(np.ascontiguousarray(arr, dtype="<i4").tobytes()).hexdigest()


def stream_chunks(audio, streams, frames):
    """[frames] tensors [streams, 1, 1920]: stream i, frame f reads audio[(i*88000 + f*1920) % (N-1920):][:1920]."""
    n = audio.shape[0]
    out = []
    for f in range(frames):
        x = np.empty((streams, 1, FRAME), dtype=np.float32)
        for i in range(streams):
            o = (i * STREAM_OFFSET + f * FRAME) % (n - FRAME)
            x[i, 0] = audio[o:o + FRAME]
        out.append(torch.from_numpy(x))
    return out


def stats(y):
    y = y.double()
    return {"audio_rms": float(torch.sqrt(torch.mean(y * y))), "audio_peak": float(y.abs().max())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    from moshi.models import loaders
    import moshi

    audio = np.fromfile(args.audio, dtype="<f4").astype(np.float32)
    x60 = torch.from_numpy(audio.copy()).view(1, 1, -1)

    def load():
        gc.collect()
        t0 = time.perf_counter_ns()
        m = loaders.get_mimi(args.checkpoint, device="cpu")
        return m, (time.perf_counter_ns() - t0) / 1e6

    with torch.no_grad():
        model, load_ms = load()
        log(f"loaded in {load_ms:.0f} ms; warming up (one 10 s encode)")
        model.set_num_codebooks(8)
        t0 = time.perf_counter_ns()
        model.encode(x60[:, :, :10 * SR])
        warm_ms = (time.perf_counter_ns() - t0) / 1e6
        info = {
            "side": "pytorch", "ready": True, "load_ms": load_ms, "warmup_encode10s_ms": warm_ms,
            "torch": torch.__version__, "moshi": moshi.__version__, "moshi_file": moshi.__file__,
            "threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkldnn": torch.backends.mkldnn.is_available(), "mkl": torch.backends.mkl.is_available(),
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_",
                                                   "MALLOC_TOP_PAD_")},
            "audio_samples": int(audio.shape[0]),
        }
        print(json.dumps(info), flush=True)
        codes8 = None

        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            cmd = parts[0]
            try:
                if cmd == "quit":
                    break
                if cmd in ("encode8", "encode32"):
                    nq = 8 if cmd == "encode8" else 32
                    model.set_num_codebooks(nq)
                    t0 = time.perf_counter_ns()
                    codes = model.encode(x60)
                    ms = (time.perf_counter_ns() - t0) / 1e6
                    if nq == 8:
                        codes8 = codes
                    c = codes[0].numpy()
                    ans = {"ms": ms, "sha256": sha_codes(c), "shape": list(c.shape)}
                elif cmd == "decode":
                    if codes8 is None:
                        model.set_num_codebooks(8)
                        codes8 = model.encode(x60)
                    t0 = time.perf_counter_ns()
                    y = model.decode(codes8)
                    ms = (time.perf_counter_ns() - t0) / 1e6
                    ans = {"ms": ms, "sha256": sha_codes(codes8[0].numpy()), "samples": int(y.shape[-1])}
                    ans.update(stats(y))
                elif cmd in ("stream1", "stream16"):
                    streams = 1 if cmd == "stream1" else 16
                    frames = int(parts[1]) if len(parts) > 1 else (200 if streams == 1 else 60)
                    chunks = stream_chunks(audio, streams, frames)
                    model.set_num_codebooks(8)
                    per = []
                    got = []
                    sq = 0.0
                    peak = 0.0
                    with model.streaming(streams):
                        for ch in chunks:
                            t0 = time.perf_counter_ns()
                            c = model.encode(ch)
                            y = model.decode(c)
                            per.append((time.perf_counter_ns() - t0) / 1e6)
                            got.append(c[:, :, 0].numpy().copy())  # [streams][K]
                            yd = y.double()
                            sq += float((yd * yd).sum())
                            peak = max(peak, float(yd.abs().max()))
                    s = sorted(per)
                    ans = {"ms": s[len(s) // 2], "p99_ms": s[min(len(s) - 1, -(-99 * len(s) // 100) - 1)],
                           "mean_ms": sum(per) / len(per), "max_ms": s[-1], "frames": frames, "streams": streams,
                           "sha256": sha_codes(np.stack(got)),
                           "audio_rms": (sq / (frames * streams * FRAME)) ** 0.5, "audio_peak": peak}
                elif cmd == "load":
                    m2, ms = load()
                    del m2
                    gc.collect()
                    ans = {"ms": ms}
                else:
                    ans = {"error": "unknown command " + cmd}
            except Exception as e:  # report, keep serving
                ans = {"error": repr(e)}
            ans["workload"] = cmd
            print(json.dumps(ans), flush=True)


if __name__ == "__main__":
    main()
