#!/bin/bash
# Runs a command inside the Debian chroot $PT_HOME/root (see README.md) with /proc, /sys, /dev, the moshi source, this
# folder (the harness and its huggingface_hub stub) and the checkpoint's folder bind-mounted; unmounts (in reverse
# order) whatever this invocation mounted when the command ends. Needs root.
set -u
HERE=$(dirname "$(readlink -f "$0")")
PT_HOME=${PT_HOME:-/work/pt}
ROOT=${PT_ROOT:-$PT_HOME/root}
CKPT_DIR=${PT_CKPT_DIR:-/tmp/mimi4j-bench}
mkdir -p "$PT_HOME/data"
# host path -> path in the chroot, mode
MOUNTS=(
  "/proc:/proc:rw"
  "/sys:/sys:rw"
  "/dev:/dev:rw"
  "$PT_HOME/moshi-src:/opt/moshi-src:ro"
  "$HERE/stubs:/opt/stubs:ro"
  "$HERE:/opt/harness:ro"
  "$PT_HOME/data:/opt/data:ro"
  "$CKPT_DIR:/opt/ckpt:ro"
)
mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"; done
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
for m in "${MOUNTS[@]}"; do
  IFS=: read -r src dst mode <<<"$m"
  tgt="$ROOT$dst"
  mkdir -p "$tgt"
  if ! mountpoint -q "$tgt"; then
    mount --bind "$src" "$tgt" || exit 1
    mounted+=("$tgt")
    if [ "$mode" = ro ]; then mount -o remount,bind,ro "$tgt" || true; fi
  fi
done
chroot "$ROOT" "$@"
