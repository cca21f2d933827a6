"""Differential fuzz of mimi4j against upstream moshi (host side; needs numpy): random cases -> inputs, both sides,
comparison. Codes must be identical, decoded audio within relative L2 1e-4; prints each difference and a summary line,
exit status 1 if any. Where codes differ, tiecheck.py looks at upstream's own residuals there: a difference whose every
first differing code is a near-tie (upstream's two nearest entries closer than --tie-gap in relative squared distance,
below what float32 latents of two implementations can resolve) is reported as one and does not fail the run.
  python3 tools/upstream/fuzz.py --set tiny --n 300 --seed 2
  python3 tools/upstream/fuzz.py --set full --n 100 --seed 4 --max-seconds 40"""
import argparse, json, os, shutil, subprocess, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PT = os.environ.get("PT_HOME", "/work/pt")
TINY = os.environ.get("GOLDEN_TINY", os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "golden", "tiny")))

ap = argparse.ArgumentParser()
ap.add_argument("--set", default="tiny")
ap.add_argument("--n", type=int, default=100)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--max-seconds", type=float, default=30)
ap.add_argument("--jar", default=os.path.join(HERE, "..", "..", "mimi4j-core", "target", "mimi4j-core-0.1.0-SNAPSHOT.jar"))
ap.add_argument("--tie-gap", type=float, default=1e-5,
                help="codes that differ where upstream's two nearest entries are closer than this (relative squared "
                     "distance) are near-ties: the latents of two float32 implementations differ by ~1e-6")
ap.add_argument("--checkpoint", default="/tmp/mimi4j-bench/mimi-full-random-f32-seed1.safetensors",
                help="the full set's moshi-layout weights (bin/mimi bench writes this one)")
args = ap.parse_args()

if args.set == "tiny":
    ckdir, ck_pt, ck_j = TINY, "/opt/ckpt/moshi.safetensors", TINY
    cfg = json.load(open(os.path.join(TINY, "cases.json")))["moshi_config"]
    n_q, bins = cfg["quantizer"]["n_q"], cfg["quantizer"]["bins"]
else:
    ck_j = os.path.abspath(args.checkpoint)
    ckdir, ck_pt = os.path.dirname(ck_j), "/opt/ckpt/" + os.path.basename(ck_j)
    cfg, n_q, bins = None, 32, 2048

base_host = f"{PT}/root/tmp/fuzz/{args.set}-{args.seed}"
base_pt = f"/tmp/fuzz/{args.set}-{args.seed}"
shutil.rmtree(base_host, ignore_errors=True)
os.makedirs(base_host + "/in")
rng = np.random.default_rng(args.seed)
EDGE = [1, 2, 959, 960, 961, 1919, 1920, 1921, 3839, 3840, 3841, 5759, 7680, 24000, 24001, 276480, 276481, 278400]

def signal(n):
    t = np.arange(n) / 24000.0
    y = np.zeros(n)
    for _ in range(rng.integers(1, 5)):
        y += rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * rng.uniform(60, 4000) * t + rng.uniform(0, 6.3))
    y += rng.uniform(0, 0.2) * rng.standard_normal(n)
    y *= np.exp(rng.uniform(-4, 1))  # amplitudes from ~0.02x to 2.7x
    return y.astype(np.float32)

cases, lines = [], []
maxlen = int(args.max_seconds * 24000)
for i in range(args.n):
    cid = f"c{i:04d}"
    kind = rng.choice(["enc", "enc", "senc", "dec", "sdec"])
    nq = int(rng.integers(1, n_q + 1))
    c = {"id": cid, "kind": str(kind), "nq": nq, "batch": 1}
    chunk = 0
    lens = []
    if kind == "enc":
        b = int(rng.choice([1, 1, 1, 2, 3]))
        if rng.random() < 0.3:
            lens = [int(x) for x in rng.choice([e for e in EDGE if e <= maxlen], size=b)]
        else:
            lens = [int(x) for x in rng.integers(1, maxlen + 1, size=b)]
        if b > 1 and rng.random() < 0.4:
            lens = [lens[0]] * b
        L = max(lens)
        x = np.zeros((b, L), dtype=np.float32)
        for j, l in enumerate(lens):
            x[j, :l] = signal(l)
        x.tofile(f"{base_host}/in/{cid}.f32")
        c["batch"] = b
        c["lengths"] = lens
    elif kind == "senc":
        f = int(rng.integers(1, min(60, maxlen // 1920) + 1))
        signal(f * 1920).tofile(f"{base_host}/in/{cid}.f32")
        chunk = int(rng.choice([1920, 480, 960, 1000, 4000, 1]))
        if chunk == 1:
            chunk = 1920 * f  # all at once
        c["frames"] = f
    else:
        k = int(rng.integers(1, n_q + 1))
        t = int(rng.integers(1, 60))
        rng.integers(0, bins, size=(k, t)).astype("<i4").tofile(f"{base_host}/in/{cid}.i32")
        c["k"], c["t"] = k, t
    cases.append(c)
    lines.append(" ".join(str(v) for v in [cid, kind, c["batch"], nq, c.get("k", 0), c.get("t", 0), chunk] + lens))

json.dump({"checkpoint": ck_pt, "moshi_config": cfg, "n_q": n_q, "cases": cases}, open(base_host + "/cases.json", "w"))
open(base_host + "/cases.lines", "w").write("\n".join(lines) + "\n")

env = dict(os.environ, PT_CKPT_DIR=ckdir)
pt = subprocess.run([os.path.join(HERE, "chroot.sh"), "/usr/bin/env", "PYTHONPATH=/opt/moshi-src/moshi:/opt/stubs",
                     "python3", "/opt/harness/fuzz_pt.py", base_pt], env=env, capture_output=True, text=True)
if pt.returncode != 0:
    sys.exit("pytorch side failed:\n" + pt.stderr[-3000:])
java = os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64") + "/bin/java"
j = subprocess.run([java, "--add-modules", "jdk.incubator.vector", "-cp", args.jar, os.path.join(HERE, "Fuzz4j.java"), base_host, ck_j],
                   capture_output=True, text=True)
if j.returncode != 0:
    sys.exit("mimi4j side failed:\n" + j.stderr[-3000:])

bad = 0
worst = 0.0
differ = {}  # case id -> its line, for codes of the same shape that differ
for c in cases:
    cid, kind = c["id"], c["kind"]
    if kind in ("enc", "senc"):
        a = np.fromfile(f"{base_host}/pt/{cid}.i32", dtype="<i4")
        b = np.fromfile(f"{base_host}/j4/{cid}.i32", dtype="<i4")
        if a.shape != b.shape or (a != b).any():
            line = (f"{cid} {kind} batch={c['batch']} nq={c['nq']} lens={c.get('lengths')} frames={c.get('frames')} "
                    f"shapes {a.shape} {b.shape} mismatches {-1 if a.shape != b.shape else int((a != b).sum())}")
            if a.shape != b.shape:
                bad += 1
                print("CODES DIFFER " + line)
            else:
                differ[cid] = line
    else:
        a = np.fromfile(f"{base_host}/pt/{cid}.f32", dtype="<f4").astype(np.float64)
        b = np.fromfile(f"{base_host}/j4/{cid}.f32", dtype="<f4").astype(np.float64)
        if a.shape != b.shape:
            bad += 1
            print(f"AUDIO SHAPE {cid} {kind} {a.shape} {b.shape}")
            continue
        rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30))
        worst = max(worst, rel)
        if rel > 1e-4:
            bad += 1
            print(f"AUDIO DIFFERS {cid} {kind} k={c['k']} t={c['t']} relL2 {rel:.3g}")
ties = 0
if differ:
    t = subprocess.run([os.path.join(HERE, "chroot.sh"), "/usr/bin/env", "PYTHONPATH=/opt/moshi-src/moshi:/opt/stubs",
                        "python3", "/opt/harness/tiecheck.py", base_pt] + sorted(differ), env=env, capture_output=True, text=True)
    gap = {}
    for out in t.stdout.splitlines():
        if out.startswith("TIE "):
            _, cid, g, _ = out.split()
            gap[cid] = float(g)
        else:
            print("  " + out)
    if t.returncode != 0:
        print("tie check failed:\n" + t.stderr[-3000:])
    for cid, line in differ.items():
        if cid in gap and gap[cid] < args.tie_gap:
            ties += 1
            print(f"CODES DIFFER AT NEAR-TIES {line}; largest gap {gap[cid]:.3g}")
        else:
            bad += 1
            print(f"CODES DIFFER {line}" + (f"; gap {gap[cid]:.3g}, not a near-tie" if cid in gap else ""))
kinds = {}
for c in cases:
    kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
print(f"{args.set} seed {args.seed}: {len(cases)} cases {kinds}, {bad} differing, {ties} differing at near-ties "
      f"(gap < {args.tie_gap:g}); worst audio relL2 {worst:.3g}")
sys.exit(1 if bad else 0)
