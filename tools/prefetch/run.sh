#!/usr/bin/env bash
# The prefetch probe: the same one-thread product in C (gcc, with and without prefetch) and in Java (the Vector API),
# for the transformer's weight shapes on an offline call's 384 columns and on 192. Needs gcc and JDK 25. See README.md.
set -euo pipefail
cd "$(dirname "$0")"
for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25*; do
  if [[ -x "$j/bin/java" ]]; then export JAVA_HOME="$j"; break; fi
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -O3 -march=native -Wall -o "$out/probe" probe.c
"$JAVA_HOME/bin/javac" -d "$out" --add-modules jdk.incubator.vector Probe.java 2>&1 | grep -v -e 'warning' -e 'incubat' || true
for shape in "1536 512" "2048 512" "512 2048"; do
  for n in 384 192; do
    "$out/probe" $shape $n
    "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$out" Probe $shape $n 2>&1 | grep -v WARNING
  done
done
