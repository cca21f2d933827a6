#!/usr/bin/env bash
# Throughput of the Spark job on local[1] and local[2] over the same generated data (docs/spark.md has results).
#   mimi4j-spark/bench.sh [MODEL] [FILES] [MIN_S] [MAX_S]     MODEL: a model path, or random (released size); default random
# Extra JVM options (e.g. -Dmimi4j.threads=1) go in BENCH_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
for j in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
  if [[ -n "$j" && -x "$j/bin/java" ]]; then export JAVA_HOME="$j"; break; fi
done
export PATH="$JAVA_HOME/bin:$PATH"
model=${1:-random}; files=${2:-120}; min=${3:-3}; max=${4:-8}
mvn -B -q -ntp -pl mimi4j-spark -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath >/dev/null
cp="mimi4j-spark/target/test-classes:mimi4j-spark/target/classes:$(cat mimi4j-spark/target/bench.classpath)"
data=${BENCH_DATA:-mimi4j-spark/target/bench-data-$files-$min-$max}
opts=$(sed -n 's:.*<spark.test.args>\(.*\)</spark.test.args>.*:\1:p' mimi4j-spark/pom.xml)
for master in 'local[1]' 'local[2]'; do
  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED $opts -Xmx4g ${BENCH_JAVA_OPTS:-} \
    -Dspark.driver.bindAddress=127.0.0.1 -Dspark.driver.host=127.0.0.1 -Dlog4j2.configurationFile=mimi4j-spark/src/test/resources/log4j2.properties \
    -cp "$cp" org.mimi4j.spark.TokenizeBench "$data" "$master" "$model" "$files" "$min" "$max" 2>/dev/null | grep files/s
done
