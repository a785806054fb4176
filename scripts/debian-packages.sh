# Sourced by the set-up scripts (setup.sh, notebooks.sh, lab.sh, image.sh): which
# Debian packages each purpose needs, and installing those that are missing.

# The packages a purpose needs, each purpose a superset of the one before:
# serve (make run, serve, worker, evaluate...), train (make synth, train, eda,
# notebooks), bench (make bench, soak), test (make test, CI).
debian_packages_for() {
  local p=(
    # unzip and pip fetch the TensorFlow wheel when the official libtensorflow is out of reach
    unzip python3-pip curl
  )
  case "$1" in
    serve) ;;
    train | bench | test)
      # fonts the synthetic data is rendered from (pipeline/synth/fonts.ts)
      p+=(fonts-kouzan-mouhitsu fonts-aoyagi-kouzan-t fonts-aoyagi-soseki fonts-seto fonts-kiloji fonts-klee
        fonts-konatu fonts-ipamj-mincho fonts-hanazono fonts-ipafont-mincho fonts-ipaexfont-mincho
        fonts-dejima-mincho fonts-oradano-mincho-gsrr fonts-sawarabi-mincho fonts-takao-mincho
        fonts-morisawa-bizud-mincho fonts-horai-umefont fonts-motoya-l-cedar fonts-noto-cjk fonts-vlgothic fonts-monapo)
      if [ "$1" != train ]; then
        # the benchmarks' headless browser (in-browser recognition; the UI and docs tests too: driven by
        # playwright-core, never downloaded) and a real Redis (`make soak STORE=redis`, the Redis task
        # store's contract tests); the fonts above render the benchmark's page
        p+=(chromium redis-server)
      fi
      if [ "$1" = test ]; then
        # Jupyter's headless runner and server (the notebook and `make lab` tests)
        p+=(jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-notebook)
      fi
      ;;
    *)
      echo "unknown set-up purpose '$1': serve, train, bench or test" >&2
      return 2
      ;;
  esac
  echo "${p[@]}"
}

# Installs those of the Debian packages named that are missing, with sudo when
# not root; prints what it installs, or that all were present. Idempotent.
ensure_debian_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "[apt] Debian packages: all present ($#)" >&2
    return 0
  fi
  echo "[apt] installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  [ "$(id -u)" -eq 0 ] || { sudo="sudo"; echo "[apt] not root: apt-get runs through sudo" >&2; }
  # Another apt (unattended upgrades, a second set-up) may hold the lock: wait for it, and say so.
  local wait=(-o DPkg::Lock::Timeout="${K49_APT_LOCK_WAIT:-300}")
  echo "[apt] apt-get update (waits up to ${K49_APT_LOCK_WAIT:-300} s for another apt's lock)" >&2
  $sudo apt-get "${wait[@]}" update -qq
  # One line per package downloaded, unpacked and set up, so a long install shows progress.
  local rc_file rc
  rc_file="$(mktemp)"
  echo 0 >"$rc_file"
  { DEBIAN_FRONTEND=noninteractive $sudo apt-get "${wait[@]}" install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" 2>&1 || echo $? >"$rc_file"; } |
    { grep --line-buffered -E '^(Get:|Unpacking|Setting up|E:|W:)' || true; } | sed -u 's/^/[apt] /' >&2
  rc="$(cat "$rc_file")"; rm -f "$rc_file"
  [ "$rc" -eq 0 ] || { echo "[apt] apt-get install failed (exit $rc)" >&2; return "$rc"; }
}
