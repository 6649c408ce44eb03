#!/usr/bin/env bash
# PostgreSQL for the Oscar target: Debian's postgresql installed where missing (as root, or with sudo), its
# cluster started, a role and an empty database `oscar` created; prints the URL to give `--db`.
#   loadtests/oscar/postgres.sh            # then: python -m loadtests.oscar serve --db "$(loadtests/oscar/postgres.sh)" ...
set -euo pipefail
SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo -n")
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null; } >&2
fi
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$VERSION main .* online"; then
    $SUDO pg_ctlcluster "$VERSION" main start >&2 || { $SUDO pg_createcluster "$VERSION" main >&2 && $SUDO pg_ctlcluster "$VERSION" main start >&2; }
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -n -u postgres sh -c "$1"; fi; }
as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='flashsim'\"" | grep -q 1 \
    || as_postgres "psql -qc \"CREATE ROLE flashsim LOGIN PASSWORD 'flashsim' CREATEDB\"" >&2
as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='oscar'\"" | grep -q 1 \
    || as_postgres "createdb -O flashsim oscar" >&2
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')
echo "postgresql://flashsim:flashsim@127.0.0.1:${PORT}/oscar"
