#!/bin/sh
# Scheduled data backups: `pricewar export` into PRICEWAR_BACKUP_DIR every PRICEWAR_BACKUP_INTERVAL_S seconds
# (default daily), keeping the newest PRICEWAR_BACKUP_KEEP files (default 14). PRICEWAR_BACKUP_ONCE=1 makes one
# backup and exits (for cron). Each file is written under a temporary name and renamed when complete, so a
# crash never leaves a half backup that looks whole. Restore: `pricewar migrate` on an empty database, then
# `pricewar import FILE` (README, "Operator's checklist"). The `backup` service of docker-compose.yml runs this.
set -eu

main() {
  dir=${PRICEWAR_BACKUP_DIR:-/var/lib/pricewar/backups}
  keep=${PRICEWAR_BACKUP_KEEP:-14}
  interval=${PRICEWAR_BACKUP_INTERVAL_S:-86400}
  mkdir -p "$dir"
  while :; do
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    partial="$dir/.pricewar-$stamp.json.partial"
    if pricewar export "$partial"; then
      mv "$partial" "$dir/pricewar-$stamp.json"
      echo "backup: $dir/pricewar-$stamp.json"
      # Keep the newest $keep (names sort by time).
      ls -1 "$dir" | grep '^pricewar-.*\.json$' | sort -r | tail -n +"$((keep + 1))" | while read -r old; do
        rm -f -- "$dir/$old"
      done
    else
      rm -f -- "$partial"
      echo "backup FAILED at $stamp" >&2
      [ "${PRICEWAR_BACKUP_ONCE:-0}" = 1 ] && return 1
    fi
    [ "${PRICEWAR_BACKUP_ONCE:-0}" = 1 ] && return 0
    sleep "$interval"
  done
}

main "$@"
