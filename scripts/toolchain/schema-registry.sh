#!/usr/bin/env bash
# Fetches Apicurio Registry (a schema registry with a Confluent-compatible API)
# from Maven Central into the cache: the runnable Quarkus app, unpacked. It runs
# on the machine's Java 17; tests and `make start` start their own, in memory.
# Idempotent: a warm run checks a stamp and the runner jar.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable
need_cmd java "install Java 17+ (apt-get install openjdk-17-jre-headless)"

dir="$PLINTH_CACHE/apicurio-$APICURIO_VERSION"
runner="$dir/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
if stamp_ok apicurio "$APICURIO_VERSION" && [ -f "$runner" ]; then exit 0; fi
need_cmd mvn "install Maven (apt-get install maven) to fetch the schema registry"

log "fetching Apicurio Registry $APICURIO_VERSION into $dir"
mkdir -p "$PLINTH_CACHE/build"
mvn_log="$PLINTH_CACHE/build/apicurio-mvn.log"
artifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
# dependency:get/copy need no project: run them from a directory without a pom.xml.
staging="$PLINTH_CACHE/build/apicurio-download"
rm -rf "$staging" && mkdir -p "$staging"
(cd "$PLINTH_CACHE/build" && mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory="$staging") \
  >"$mvn_log" 2>&1 ||
  { cat "$mvn_log" >&2; die "mvn could not fetch $artifact from Maven Central (its output is above)"; }
rm -rf "$dir" && mkdir -p "$dir"
tar -xzf "$staging"/apicurio-registry-app-*.tar.gz -C "$dir" ||
  die "could not unpack the Apicurio Registry archive from $staging"
# The archive may wrap the app in a folder; the runner jar must sit at the top of $dir.
if [ ! -f "$runner" ]; then
  found="$(find "$dir" -name "apicurio-registry-app-$APICURIO_VERSION-runner.jar" | head -n 1)"
  [ -n "$found" ] || die "no apicurio-registry-app-$APICURIO_VERSION-runner.jar in the archive (see $dir)"
  inner="$(dirname "$found")"
  (shopt -s dotglob && mv "$inner"/* "$dir"/)
fi
rm -rf "$staging"
stamp_set apicurio "$APICURIO_VERSION"
