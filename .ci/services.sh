#!/usr/bin/env bash
# Installs (Debian packages) and starts the services the Postgres + S3 test suites run against,
# all on loopback: PostgreSQL 15 (role and database galen_test) and OpenStack Swift with its S3
# API (s3api) on 127.0.0.1:9000. Idempotent: a second run reuses what is running.
# Prints the settings the tests read, as `export` lines: eval "$(bash .ci/services.sh)".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v swift-proxy-server >/dev/null 2>&1 || need+=(swift swift-proxy swift-account swift-container swift-object)
command -v memcached >/dev/null 2>&1 || need+=(memcached)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing services: ${need[*]}" >&2
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL: the cluster the package creates (15/main), started, with a login role able to
# create the per-test databases.
pg_lsclusters -h | grep -q '^15 main' || pg_createcluster 15 main >&2
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start >&2
su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<'SQL'
SELECT 'CREATE ROLE galen LOGIN PASSWORD ''galen'' CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'galen')\gexec
SELECT 'CREATE DATABASE galen_test OWNER galen' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'galen_test')\gexec
SQL

# S3: a single-node Swift with s3api, unless one already answers.
if ! curl -sf http://127.0.0.1:9000/healthcheck >/dev/null 2>&1; then
  bash "$here/swift-s3.sh" /tmp/galen-ci-swift 9000 >&2
fi

cat <<'ENV'
export GALEN_TEST_DATABASE_URL=postgres://galen:galen@127.0.0.1:5432/galen_test
export GALEN_TEST_S3_ENDPOINT=http://127.0.0.1:9000
export GALEN_TEST_S3_ACCESS_KEY_ID=test:tester
export GALEN_TEST_S3_SECRET_ACCESS_KEY=testing
ENV
