"""The shared input: 60 s at 24 kHz of a tone rising linearly from 100 to 2000 Hz at amplitude 0.3 plus uniform noise
of amplitude 0.05 from a fixed LCG (Numerical Recipes constants, seed 1), as raw little-endian float32. Standard
library only (runs on the host's python3)."""
import array
import math
import os
import sys

SR = 24000


def write(path, seconds=60.0):
    n = int(round(seconds * SR))
    t_total = n / SR
    f0, f1 = 100.0, 2000.0
    lcg = 1
    a = array.array("f", bytes(4 * n))
    two_pi = 2 * math.pi
    for i in range(n):
        t = i / SR
        phase = two_pi * (f0 * t + (f1 - f0) * t * t / (2 * t_total))
        lcg = (1664525 * lcg + 1013904223) & 0xFFFFFFFF
        u = lcg / 4294967296.0 * 2.0 - 1.0
        a[i] = 0.3 * math.sin(phase) + 0.05 * u
    if sys.byteorder != "little":
        a.byteswap()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        a.tofile(f)
    os.replace(tmp, path)


if __name__ == "__main__":
    write(sys.argv[1])
