# Sourced by the set-up scripts (setup.sh, notebooks.sh, image.sh): installs
# those of the Debian packages named that are missing, with sudo when not
# root; prints what it installs, or that all were present. Idempotent.
ensure_debian_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "[apt] Debian packages: all present ($#)" >&2
    return 0
  fi
  echo "[apt] installing Debian packages: ${missing[*]}" >&2
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
