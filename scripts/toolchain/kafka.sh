#!/usr/bin/env bash
# Collects the Apache Kafka broker jars from Maven Central into the cache.
# The broker runs on the machine's Java (17+). Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable
need_cmd java "install Java 17+ (apt-get install openjdk-17-jre-headless)"
need_cmd mvn "install Maven (apt-get install maven) to fetch the Kafka jars"

pom="$(cd "$(dirname "$0")/kafka" && pwd)/pom.xml"
libs="$PLINTH_CACHE/kafka-$KAFKA_VERSION/libs"
key="$KAFKA_VERSION $(sha256sum "$pom" | cut -c1-16)"
if stamp_ok kafka "$key" && [ -d "$libs" ]; then exit 0; fi

log "collecting Kafka $KAFKA_VERSION jars into $libs"
rm -rf "$libs" && mkdir -p "$libs"
mvn_log="$PLINTH_CACHE/build/kafka-mvn.log"
mkdir -p "$(dirname "$mvn_log")"
mvn -q -B -f "$pom" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >"$mvn_log" 2>&1 ||
  { cat "$mvn_log" >&2; die "mvn could not fetch the Kafka $KAFKA_VERSION jars from Maven Central (its output is above)"; }
stamp_set kafka "$key"
