#!/usr/bin/env bash
# A minimal single-node OpenStack Swift with the s3api middleware, all on 127.0.0.1.
# Usage: swift-s3.sh <dir> [port]   (PIDs in <dir>/pids; S3 on http://127.0.0.1:<port, 9000>, key test:tester / testing)
set -euo pipefail
D=${1:-/tmp/swift-s3}
PORT=${2:-9000}
# stop a previous run of this script on the same folder, and refuse a port already taken
[ -f "$D/pids" ] && { kill $(cat "$D/pids") 2>/dev/null || true; sleep 1; }
if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "127.0.0.1:$PORT is already in use" >&2; exit 1; fi
rm -rf "$D"; mkdir -p "$D/etc" "$D/srv/d1" "$D/log"
# swift.conf is read from /etc/swift only (hash suffix: any fixed value is fine for a test cluster)
mkdir -p /etc/swift
[ -f /etc/swift/swift.conf ] || printf '[swift-hash]\nswift_hash_path_suffix = galen-ci\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > /etc/swift/swift.conf
cd "$D/etc"
for t in account:6202 container:6201 object:6200; do
  n=${t%%:*}; p=${t##*:}
  swift-ring-builder $n.builder create 4 1 0 >/dev/null
  swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/d1 1 >/dev/null
  swift-ring-builder $n.builder rebalance >/dev/null
  cat > $n-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
swift_dir = $D/etc
devices = $D/srv
mount_check = false
log_facility = LOG_LOCAL2
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
[$n-replicator]
[$n-updater]
[$n-auditor]
CONF
done
cat > proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
swift_dir = $D/etc
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11299
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
: > "$D/pids"
# tempauth keeps its tokens in memcached (Debian package memcached); a private one on its own port
memcached -l 127.0.0.1 -p 11299 -U 0 -m 16 -u root > "$D/log/memcached.log" 2>&1 &
echo $! >> "$D/pids"
for n in account container object proxy; do
  swift-$n-server "$D/etc/$n-server.conf" -v > "$D/log/$n.log" 2>&1 &
  echo $! >> "$D/pids"
done
for i in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/healthcheck >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:$PORT/healthcheck >/dev/null && echo "swift s3api ready" || { echo "swift did not start"; tail -n 20 "$D"/log/*.log; exit 1; }
