#!/usr/bin/env python3
"""Upstream PyTorch Mimi (moshi 0.2.13, Debian trixie's torch in the chroot $PT_HOME/root) against mimi4j, in paired
rounds. Host python3, standard library only.

Starts two long-lived processes, one after the other (each loads the checkpoint once and warms up with one 10 s
encode): pt_server.py inside the chroot (via chroot.sh) and MimiServer.java on JDK 25 with the given mimi4j core jar.
Then, per round and per workload, sends the same command to one side and then the other, the order alternating per
round, and takes each round's ratio PyTorch / mimi4j. Each answer carries a SHA-256 of the codes; a mismatch is
reported (table, stderr, raw JSON) and makes the exit status 2. Progress goes to stderr, the Markdown table to stdout.

  python3 tools/upstream/side_by_side.py --rounds 5 \
      --workloads encode8,encode32,decode,stream1,stream16,load --raw /tmp/run.json
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PT = os.environ.get("PT_HOME", "/work/pt")
AUDIO = os.path.join(PT, "data", "audio-60s-24k-f32le.raw")
WORKLOADS = ["encode8", "encode32", "decode", "stream1", "stream16", "load"]
LABELS = {
    "encode8": "encode 60 s, 8 codebooks",
    "encode32": "encode 60 s, 32 codebooks",
    "decode": "decode 60 s (8 codebooks)",
    "stream1": "one stream, a frame encoded and decoded ({f} frames), median per frame",
    "stream16": "16 streams batched, per frame ({f} frames), median",
    "load": "load the checkpoint",
}
MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736", "MALLOC_TOP_PAD_": "1073741824"}


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


class Side:
    def __init__(self, name, argv):
        self.name = name
        log(f"starting {name}: {' '.join(argv)}")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True,
                                     bufsize=1)
        self.info = self._read()
        if not self.info.get("ready"):
            raise RuntimeError(f"{name} did not start: {self.info}")
        log(f"{name} ready: {json.dumps(self.info)}")

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited (status {self.proc.poll()})")
        return json.loads(line)

    def ask(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def find_java(given):
    if given:
        return given
    for c in [os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "java"), "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"]:
        if c and os.access(c, os.X_OK):
            return c
    return "java"


def fmt_ms(x):
    return "-" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jar", default=os.path.join(HERE, "..", "..", "mimi4j-core", "target", "mimi4j-core-0.1.0-SNAPSHOT.jar"),
                    help="mimi4j core jar (default: this checkout's, after mvn install)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of " + ",".join(WORKLOADS))
    ap.add_argument("--frames", type=int, default=200, help="frames of the one-stream workload (default 200)")
    ap.add_argument("--frames16", type=int, default=60, help="frames of the 16-stream workload (default 60)")
    ap.add_argument("--raw", help="write every answer and the summary as JSON here")
    ap.add_argument("--checkpoint", default="/tmp/mimi4j-bench/mimi-full-random-f32-seed1.safetensors",
                    help="moshi-layout safetensors (its folder is bind-mounted read-only into the chroot)")
    ap.add_argument("--java", help="java launcher (default $JAVA_HOME/bin/java, else Temurin 25)")
    ap.add_argument("--xmx", default="8g")
    ap.add_argument("--java-opt", action="append", default=[], help="extra JVM option (repeatable)")
    ap.add_argument("--threads", type=int, default=2, help="PyTorch threads (torch.set_num_threads, OMP_NUM_THREADS)")
    ap.add_argument("--default-malloc", action="store_true", help="PyTorch with glibc malloc's defaults (not tuned)")
    ap.add_argument("--first", choices=["pytorch", "mimi4j"], default="pytorch", help="who goes first in round 1")
    args = ap.parse_args()

    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    ckpt = os.path.abspath(args.checkpoint)
    if not os.path.isfile(ckpt):
        ap.error(f"no checkpoint {ckpt}")
    if not os.path.isfile(AUDIO):
        log(f"writing the input audio {AUDIO}")
        sys.path.insert(0, HERE)
        import audio
        audio.write(AUDIO)

    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONUNBUFFERED": "1", "PYTHONPATH": "/opt/moshi-src/moshi:/opt/stubs", "OMP_NUM_THREADS": str(args.threads)}
    if not args.default_malloc:
        env.update(MALLOC)
    pt_argv = ["env", f"PT_CKPT_DIR={os.path.dirname(ckpt)}", os.path.join(HERE, "chroot.sh"), "/usr/bin/env", "-i"]
    pt_argv += [f"{k}={v}" for k, v in env.items()]
    pt_argv += ["python3", "/opt/harness/pt_server.py", "--checkpoint", "/opt/ckpt/" + os.path.basename(ckpt),
                "--audio", "/opt/data/" + os.path.basename(AUDIO), "--threads", str(args.threads)]
    java_argv = [find_java(args.java), "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                 f"-Xmx{args.xmx}"] + args.java_opt + ["-cp", os.path.abspath(args.jar),
                                                       os.path.join(HERE, "MimiServer.java"), "--checkpoint", ckpt,
                                                       "--audio", AUDIO]

    cmds = {w: w for w in workloads}
    if "stream1" in cmds:
        cmds["stream1"] = f"stream1 {args.frames}"
    if "stream16" in cmds:
        cmds["stream16"] = f"stream16 {args.frames16}"

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    sides = {}
    rounds = []
    mismatches = []
    try:
        sides["pytorch"] = Side("pytorch", pt_argv)
        sides["mimi4j"] = Side("mimi4j", java_argv)
        for r in range(args.rounds):
            first = args.first if r % 2 == 0 else ("mimi4j" if args.first == "pytorch" else "pytorch")
            order = [first, "mimi4j" if first == "pytorch" else "pytorch"]
            rec = {"round": r + 1, "order": order, "results": {}}
            for w in workloads:
                res = {}
                for s in order:
                    a = sides[s].ask(cmds[w])
                    res[s] = a
                    extra = f" p99 {a['p99_ms']:.1f}" if "p99_ms" in a else ""
                    log(f"round {r + 1}/{args.rounds} {w:8s} {s:7s} "
                        + (f"ERROR {a['error']}" if "error" in a else f"{a['ms']:.1f} ms{extra}"))
                pt, mj = res["pytorch"], res["mimi4j"]
                if "ms" in pt and "ms" in mj and mj["ms"] > 0:
                    res["ratio"] = pt["ms"] / mj["ms"]
                if "sha256" in pt or "sha256" in mj:
                    same = pt.get("sha256") is not None and pt.get("sha256") == mj.get("sha256")
                    res["codes_identical"] = same
                    if not same:
                        mismatches.append((r + 1, w))
                        log(f"!!! round {r + 1} {w}: CODES DIFFER: pytorch {pt.get('sha256')} mimi4j {mj.get('sha256')}")
                if "ratio" in res:
                    log(f"round {r + 1}/{args.rounds} {w:8s} PyTorch/mimi4j {res['ratio']:.2f}"
                        + ("" if "codes_identical" not in res else
                           ", codes identical" if res["codes_identical"] else ", CODES DIFFER"))
                rec["results"][w] = res
            rounds.append(rec)
    finally:
        for s in sides.values():
            s.close()

    # summary
    summary = {}
    for w in workloads:
        per = [rec["results"][w] for rec in rounds]
        def med(side, key="ms"):
            v = [p[side][key] for p in per if key in p[side]]
            return statistics.median(v) if v else None
        ratios = [p["ratio"] for p in per if "ratio" in p]
        ident = [p["codes_identical"] for p in per if "codes_identical" in p]
        summary[w] = {"rounds": len(per), "mimi4j_median_ms": med("mimi4j"), "pytorch_median_ms": med("pytorch"),
                      "mimi4j_p99_median_ms": med("mimi4j", "p99_ms"), "pytorch_p99_median_ms": med("pytorch", "p99_ms"),
                      "ratio_median": statistics.median(ratios) if ratios else None,
                      "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
                      "codes_identical_rounds": sum(ident) if ident else None, "hashed_rounds": len(ident)}

    pi, mi = sides["pytorch"].info, sides["mimi4j"].info
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = []
    out.append(f"Paired rounds, {started}, {os.cpu_count()} cores ({cpu}); {args.rounds} rounds, order alternating "
               f"(round 1: {args.first} first).")
    out.append(f"PyTorch {pi.get('torch')} ({pi.get('threads')} threads, CPU capability {pi.get('cpu_capability')}, "
               f"malloc {'glibc defaults' if args.default_malloc else 'tuned'}), moshi {pi.get('moshi')}; "
               f"mimi4j {os.path.basename(args.jar)} on Java {mi.get('java')} ({mi.get('threads')} threads). "
               f"First load + 10 s warm-up encode: PyTorch {pi.get('load_ms', 0):.0f} + {pi.get('warmup_encode10s_ms', 0):.0f} ms, "
               f"mimi4j {mi.get('load_ms', 0):.0f} + {mi.get('warmup_encode10s_ms', 0):.0f} ms.")
    out.append("")
    out.append("| workload | rounds | mimi4j, median | PyTorch, median | PyTorch / mimi4j per round: median (range) | codes identical |")
    out.append("|---|--:|--:|--:|--:|--:|")
    for w in workloads:
        s = summary[w]
        label = LABELS[w].format(f=args.frames if w == "stream1" else args.frames16)
        mj, pt = fmt_ms(s["mimi4j_median_ms"]) + " ms", fmt_ms(s["pytorch_median_ms"]) + " ms"
        if w == "stream1":
            mj += f" (p99 {fmt_ms(s['mimi4j_p99_median_ms'])})"
            pt += f" (p99 {fmt_ms(s['pytorch_p99_median_ms'])})"
        if w in ("encode8", "encode32", "decode") and s["mimi4j_median_ms"] and s["pytorch_median_ms"]:
            mj += f" ({60000 / s['mimi4j_median_ms']:.1f}x real time)"
            pt += f" ({60000 / s['pytorch_median_ms']:.1f}x)"
        ratio = "-" if s["ratio_median"] is None else \
            f"**{s['ratio_median']:.2f}x** ({s['ratio_min']:.2f}-{s['ratio_max']:.2f})"
        ident = "n/a" if not s["hashed_rounds"] else \
            f"{s['codes_identical_rounds']}/{s['hashed_rounds']}" + ("" if s["codes_identical_rounds"] == s["hashed_rounds"] else " **DIFFER**")
        out.append(f"| {label} | {s['rounds']} | {mj} | {pt} | {ratio} | {ident} |")
    if mismatches:
        out.append("")
        out.append("**Codes differ** in: " + ", ".join(f"round {r} {w}" for r, w in mismatches))
    table = "\n".join(out)
    print(table, flush=True)

    if args.raw:
        os.makedirs(os.path.dirname(os.path.abspath(args.raw)), exist_ok=True)
        with open(args.raw, "w") as f:
            json.dump({"started": started, "argv": sys.argv, "host": platform.node(), "cpu": cpu,
                       "pytorch_cmd": pt_argv, "mimi4j_cmd": java_argv, "info": {"pytorch": pi, "mimi4j": mi},
                       "rounds": rounds, "summary": summary, "mismatches": mismatches, "table": table}, f, indent=1)
        log(f"raw results in {args.raw}")
    sys.exit(2 if mismatches else 0)


if __name__ == "__main__":
    main()
