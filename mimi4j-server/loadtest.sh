#!/usr/bin/env bash
# Loopback load test: starts `mimi serve` (default: full-size random weights) on 127.0.0.1 and runs the Java load
# client (mimi4j-server/src/test/java/org/mimi4j/server/LoadTest.java), which finds the most concurrent real-time
# streams held with p99 frame latency under 80 ms. Build first: mvn -B -q install -DskipTests
#   mimi4j-server/loadtest.sh [--model random] [--port 8090] [-- LoadTest options: --kind encode|roundtrip --seconds 20 --max 128 ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model=random port=8090 max_streams=256
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
jar="$here/mimi4j-cli/target/mimi.jar"
[[ -f "$jar" ]] || { echo "loadtest: $jar not found; build first: mvn -B -q install -DskipTests" >&2; exit 1; }
# the JIT options of bin/mimi (see there): the per-frame methods compiled in the first seconds, not 20-40 s in
jit=(-XX:CompileCommand=quiet)
for scope in 'org.mimi4j.nn.*' 'org.mimi4j.stream.*' org.mimi4j.Mimi; do jit+=("-XX:CompileCommand=CompileThresholdScaling,$scope::*,0.05"); done
"$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED "${jit[@]}" -jar "$jar" serve --model "$model" --host 127.0.0.1 \
  --port "$port" --max-streams "$max_streams" 2> >(grep -v 'incubator' >&2) &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "loadtest: the server did not start" >&2; exit 1; }
  sleep 1
done
"$java" "$here/mimi4j-server/src/test/java/org/mimi4j/server/LoadTest.java" --url "http://127.0.0.1:$port/" "$@"
