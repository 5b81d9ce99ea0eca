#!/usr/bin/env bash
# One throwaway Samba AD domain controller for the tests, on loopback, shared by every test process
# of the machine (Samba binds the standard ports 389/636/88/445…, so there can be only one).
#
#   samba-ad-dc.sh start    reuse the running DC when it is healthy, else provision and start one
#   samba-ad-dc.sh status   exit 0 and print the facts when a healthy DC runs, else exit 3
#   samba-ad-dc.sh restart  stop it and start a new one (after changing this script)
#   samba-ad-dc.sh stop     stop it (by its pid file) and remove its directory
#
# start and status print KEY=VALUE lines (URL, CA_FILE, REALM, BASE_DN, ADMIN_DN, ADMIN_PASSWORD, …).
# Requires root (standard ports) and Debian's samba samba-ad-dc samba-ad-provision samba-dsdb-modules
# samba-vfs-modules winbind krb5-user ldb-tools smbclient ldap-utils.
#
# Callers are serialized with flock on "$DIR.lock" (provisioning takes 5–20 s). The DC runs in its own
# session, detached from the caller, and ends by itself after ROSTER_SAMBA_MAX_RUNTIME seconds
# (samba --maximum-runtime); a DC with less than MIN_REMAINING seconds left is replaced, not reused.
#
# Password policy (chosen for tests): complexity off, history 0 (an admin reset retires the old
# password at once), no minimum or maximum age, minimum length 7 — so a short password is refused by
# AD itself ("check_password_restrictions: the password is too short…") while test passwords of
# 7+ characters are accepted.
set -euo pipefail

DIR=${ROSTER_SAMBA_DIR:-${TMPDIR:-/tmp}/roster-samba-ad}
REALM=ROSTER.TEST
DOMAIN=ROSTER
BASE_DN=DC=roster,DC=test
ADMIN_PASSWORD='Roster-Adm1n!pw'
MAX_RUNTIME=${ROSTER_SAMBA_MAX_RUNTIME:-10800}
MIN_REMAINING=1800
MIN_PWD_LENGTH=7
realm_lc=$(echo "$REALM" | tr '[:upper:]' '[:lower:]')

command=${1:-start}

print_facts() {
  echo "URL=ldaps://127.0.0.1:636"
  echo "STARTTLS_URL=ldap://127.0.0.1:389"
  echo "CA_FILE=$DIR/tls/ca.pem"
  echo "REALM=$REALM"
  echo "DOMAIN=$DOMAIN"
  echo "BASE_DN=$BASE_DN"
  echo "ADMIN_DN=CN=Administrator,CN=Users,$BASE_DN"
  echo "ADMIN_UPN=Administrator@$realm_lc"
  echo "ADMIN_PASSWORD=$ADMIN_PASSWORD"
  echo "MIN_PWD_LENGTH=$MIN_PWD_LENGTH"
  echo "PID=$(cat "$DIR/samba.pid")"
  echo "STARTED_AT=$(cat "$DIR/started_at")"
  echo "EXPIRES_AT=$(($(cat "$DIR/started_at") + MAX_RUNTIME))"
  echo "PROVISION_SECONDS=$(cat "$DIR/provision_seconds" 2>/dev/null || echo 0)"
  echo "DIR=$DIR"
}

samba_pid() {
  local pid
  pid=$(cat "$DIR/samba.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = samba ] && echo "$pid"
}

answers() {
  LDAPCONF=/dev/null LDAPRC=/dev/null LDAPTLS_CACERT="$DIR/tls/ca.pem" timeout 10 ldapsearch -o nettimeout=5 \
    -H ldaps://127.0.0.1:636 -x -D "CN=Administrator,CN=Users,$BASE_DN" -w "$ADMIN_PASSWORD" \
    -s base -b '' defaultNamingContext >/dev/null 2>&1
}

# Running, and not about to end by itself.
fresh() {
  samba_pid >/dev/null || return 1
  [ -f "$DIR/started_at" ] || return 1
  [ $(($(cat "$DIR/started_at") + MAX_RUNTIME - $(date +%s))) -gt "$MIN_REMAINING" ]
}

healthy() { fresh && answers; }

# A fresh DC that does not answer at once may be busy (one ldap worker, and a tree delete of
# thousands of objects holds it for seconds): give it time before replacing it under other tests.
healthy_or_busy() {
  fresh || return 1
  for _ in $(seq 1 12); do
    answers && return 0
    samba_pid >/dev/null || return 1
    sleep 5
  done
  return 1
}

stop_dc() {
  local pid
  if pid=$(samba_pid); then
    # samba runs as the leader of its own session: end the whole group (its forked workers too).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}

port_holder() { ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1; }

mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock -w 180 9 || { echo "timed out waiting for $DIR.lock" >&2; exit 1; }

case "$command" in
  status)
    if healthy; then print_facts; exit 0; fi
    exit 3 ;;
  stop)
    stop_dc; exit 0 ;;
  start) if healthy_or_busy; then print_facts; exit 0; fi ;;
  restart) ;;
  *) echo "usage: $0 start|status|restart|stop" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "the Samba AD DC needs root (it binds ports 389, 636, 88 and 445)" >&2; exit 1; }
stop_dc
for port in 389 636; do
  holder=$(port_holder "$port")
  if [ -n "$holder" ]; then
    echo "port $port on this machine is taken by another process, so the test DC cannot start: $holder" >&2
    exit 1
  fi
done

began=$(date +%s.%N)
mkdir -p "$DIR/tls" "$DIR/log" "$DIR/run"

# TLS: Samba's own certificate has no subjectAltName; make a CA and a certificate for 127.0.0.1 and localhost.
(
  cd "$DIR/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=Roster test AD CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout key.pem -out srv.csr -subj "/CN=dc1.$realm_lc" 2>/dev/null
  printf 'subjectAltName=DNS:dc1.%s,DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' "$realm_lc" >ext.cnf
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 30 -extfile ext.cnf 2>/dev/null
  chmod 600 key.pem ca.key
)

if ! samba-tool domain provision --targetdir="$DIR/dc" --realm="$REALM" --domain="$DOMAIN" \
  --server-role=dc --dns-backend=NONE --use-rfc2307 --adminpass="$ADMIN_PASSWORD" --host-name=dc1 \
  --function-level=2008_R2 \
  --option="interfaces=lo" --option="bind interfaces only=yes" --option="disable netbios=yes" \
  --option="server services=-dnsupdate -nbt -wrepl -dns" \
  --option="tls enabled=yes" --option="tls keyfile=$DIR/tls/key.pem" \
  --option="tls certfile=$DIR/tls/cert.pem" --option="tls cafile=$DIR/tls/ca.pem" \
  --option="log file=$DIR/log/log.%m" --option="pid directory=$DIR/run" \
  --option="load printers=no" --option="printcap name=/dev/null" --option="disable spoolss=yes" \
  --option="unix password sync=no" --option="ldb:nosync=true" >"$DIR/provision.log" 2>&1; then
  echo "samba-tool domain provision failed:" >&2
  tail -n 30 "$DIR/provision.log" >&2
  exit 1
fi
# Simple binds over plain LDAP are refused by default ("ldap server require strong auth = yes"); allow
# them so that the client's allowPlain mode can be tested (LDAPS and StartTLS work either way). A
# --option given at provision time is not persisted, hence the edit.
#
# One pre-forked worker per service ("prefork children = 1"): Samba answers a change-notification
# search at once only when the write happened in the same ldap worker process; across its default 4
# workers it finds the change by polling every 5 s. Writes are serialized in the database anyway, so
# one worker costs the tests little, and notifications arrive within ~100 ms as they do from AD.
#
# No fsync on database commits ("ldb:nosync = true", as Samba's own test environments run): each
# LDAP add is a transaction, and a throwaway DC need not survive a power cut.
sed -i 's/^\[global\]$/[global]\n\tldap server require strong auth = no\n\tprefork children = 1\n\tldb:nosync = true/' "$DIR/dc/etc/smb.conf"
samba-tool domain passwordsettings set -s "$DIR/dc/etc/smb.conf" --complexity=off --history-length=0 \
  --min-pwd-age=0 --max-pwd-age=0 --min-pwd-length="$MIN_PWD_LENGTH" >>"$DIR/provision.log" 2>&1

# In the foreground (-F) of a session of its own (setsid), detached from the caller: no inherited
# pipes, and not the lock's descriptor, which would keep the lock held for as long as samba lives.
setsid samba -F --debug-stdout -s "$DIR/dc/etc/smb.conf" --maximum-runtime="$MAX_RUNTIME" \
  </dev/null >"$DIR/samba.out" 2>&1 9>&- &
echo $! >"$DIR/samba.pid"
date +%s >"$DIR/started_at"
for _ in $(seq 1 240); do
  if answers; then
    echo "$began $(date +%s.%N)" | awk '{ printf "%.1f\n", $2 - $1 }' >"$DIR/provision_seconds"
    print_facts
    exit 0
  fi
  [ -d "/proc/$(cat "$DIR/samba.pid")" ] || break
  sleep 0.25
done
echo "samba did not come up:" >&2
tail -n 50 "$DIR/samba.out" >&2
exit 1
