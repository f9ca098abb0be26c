#!/usr/bin/env bash
# Installs what Plinth's metrics need: Prometheus and promtool from Debian's
# packages (tests and `make start` run their own Prometheus; `make test` checks
# the alert rules with promtool), and the Prometheus JMX exporter Java agent
# from Maven Central, which the Kafka broker loads to expose its metrics.
# Idempotent: a warm run checks two versions and a stamp.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

# Debian's version string is e.g. "2.42.0+ds-5+deb12u1"; the pin is the upstream part.
prometheus_ok() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 &&
    prometheus --version 2>&1 | head -n 1 | grep -q "version $PROMETHEUS_VERSION[+ ]"
}
if ! prometheus_ok; then
  need_cmd apt-get "install Prometheus $PROMETHEUS_VERSION (prometheus and promtool on PATH) yourself"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need_cmd sudo "run 'apt-get install prometheus=$PROMETHEUS_VERSION*' as root"
    sudo="sudo"
  fi
  log "installing Prometheus $PROMETHEUS_VERSION and promtool from Debian's packages"
  # No recommends: the node exporter and the packaged service are not wanted, tests start their own.
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "prometheus=$PROMETHEUS_VERSION*" >/dev/null; } ||
    die "apt-get install prometheus=$PROMETHEUS_VERSION* failed (see the output above): install Prometheus $PROMETHEUS_VERSION yourself"
  prometheus_ok || die "prometheus $PROMETHEUS_VERSION and promtool are not on PATH after installing: found '$(prometheus --version 2>&1 | head -n 1)'"
fi

jar="$PLINTH_CACHE/jmx-exporter-$JMX_EXPORTER_VERSION/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar"
if stamp_ok jmx-exporter "$JMX_EXPORTER_VERSION" && [ -f "$jar" ]; then exit 0; fi
need_cmd mvn "install Maven (apt-get install maven) to fetch the JMX exporter"
log "fetching the Prometheus JMX exporter agent $JMX_EXPORTER_VERSION into $(dirname "$jar")"
rm -rf "$(dirname "$jar")" && mkdir -p "$(dirname "$jar")" "$PLINTH_CACHE/build"
mvn_log="$PLINTH_CACHE/build/jmx-exporter-mvn.log"
# dependency:copy needs no project: run it from a directory without a pom.xml.
(cd "$PLINTH_CACHE/build" && mvn -q -B dependency:copy \
  -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" \
  -DoutputDirectory="$(dirname "$jar")") >"$mvn_log" 2>&1 ||
  { cat "$mvn_log" >&2; die "mvn could not fetch io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION from Maven Central (its output is above)"; }
[ -f "$jar" ] || die "mvn finished but $jar is missing (see $mvn_log)"
stamp_set jmx-exporter "$JMX_EXPORTER_VERSION"
