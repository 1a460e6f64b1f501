#!/usr/bin/env bash
# Keeps a long-lived cargo target folder (CI reuses one across clones) from filling the disk.
# Every source change leaves a new test or binary executable beside the old ones, each a few
# hundred MB with debug info, and incremental state grows the same way; nothing removes them.
# This keeps the newest executable of each name and drops the incremental caches: the next build
# relinks what it needs, and third-party libraries, the slow part, stay built.
#
#   scripts/prune-target.sh [TARGET_DIR]   (default: $CARGO_TARGET_DIR, else ./target)
set -euo pipefail

target="${1:-${CARGO_TARGET_DIR:-target}}"
[ -d "$target" ] || exit 0

for profile in debug release; do
  deps="$target/$profile/deps"
  [ -d "$deps" ] || continue
  rm -rf "$target/$profile/incremental"
  # Executables are named NAME-HASH (16 hex digits) without an extension; group by NAME and
  # keep the most recently written one.
  find "$deps" -maxdepth 1 -type f -perm -u+x -regextype posix-extended \
      -regex '.*/[A-Za-z0-9_]+-[0-9a-f]{16}' -printf '%T@ %f\n' \
    | sort -rn \
    | awk '{ name = $2; sub(/-[0-9a-f]{16}$/, "", name); if (seen[name]++) print $2 }' \
    | while read -r stale; do rm -f "$deps/$stale"; done
done

avail_kb="$(df -Pk "$target" | awk 'NR == 2 { print $4 }')"
echo "prune-target: $(du -sh "$target" | cut -f1) in $target, $((avail_kb / 1024 / 1024)) GiB free"
