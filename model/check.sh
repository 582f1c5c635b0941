#!/usr/bin/env bash
# check.sh -- model-check waitgroup.pml with SPIN (Debian: apt-get install -y spin).
#
# For every configuration: spin -a, compile pan, run it, and compare the
# result with what is expected:
#   ok       exhaustive search, no error (safety: assertions and invalid end
#            states; live: the LTL property "every agent finishes" under weak
#            fairness, pan -a -f)
#   cex:RE   an error whose report matches RE: a known-wrong variant or the
#            documented hazard; its trail goes to $TRAILS_DIR/NAME.txt
# Prints one line per check, then "N passing" and, if any, "N failing"
# (the words the CI counter reads); exits non-zero on any failure.
#
# Usage: model/check.sh [-q] [-j JOBS] [NAME-REGEX]
#   -q   quick: only the checks marked quick (CI runs these)
#   -j   parallel runs (default: the number of cores)
set -u
cd "$(dirname "$0")"
MODEL=waitgroup.pml

QUICK=0
JOBS=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case $1 in
    -q) QUICK=1; shift ;;
    -j) JOBS=$2; shift 2 ;;
    *) break ;;
  esac
done
FILTER="${1:-.}"

if ! command -v spin >/dev/null 2>&1; then
  echo "spin not found: install it (Debian/Ubuntu: apt-get install -y spin)" >&2
  echo "0 passing"; echo "1 failing"; exit 1
fi
if ! command -v gcc >/dev/null 2>&1; then
  echo "gcc not found: install it (Debian/Ubuntu: apt-get install -y gcc)" >&2
  echo "0 passing"; echo "1 failing"; exit 1
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TRAILS=${TRAILS_DIR:-$WORK/trails}
mkdir -p "$TRAILS"
started=$SECONDS

# run_check NAME MODE EXPECT SIZE DEFINES...: one check; writes its line to $WORK/NAME.MODE.out
run_check() {
  local name=$1 mode=$2 expect=$3 size=$4; shift 4
  local dir="$WORK/$name.$mode" t0=$SECONDS result
  mkdir -p "$dir"
  cp "$MODEL" "$dir/"
  # A small search is over before -O2 would have compiled pan.c (7 s).
  # MEMLIM (MB) stops a search that outgrows the machine instead of the machine.
  local cc="-O2 -w -DMEMLIM=${MEMLIM_MB:-3000} -DCOLLAPSE" run="-m2000000 -w25"
  [ "$size" = quick ] && cc="-O0 -w -DMEMLIM=${MEMLIM_MB:-3000}" && run="-m2000000 -w24"
  if [ "$mode" = live ]; then
    set -- "$@" -DLIVE
    cc="$cc -DNFAIR=4"
    run="$run -a -f"
  else
    cc="$cc -DSAFETY"
  fi
  result=$(
    cd "$dir" || exit
    if ! spin "$@" -a "$MODEL" >spin.log 2>&1; then
      echo "FAIL  $name [$mode]: spin -a failed: $(head -3 spin.log | tr '\n' ' ')"
      exit
    fi
    if ! gcc $cc -o pan pan.c >gcc.log 2>&1; then
      echo "FAIL  $name [$mode]: gcc failed: $(head -3 gcc.log | tr '\n' ' ')"
      exit
    fi
    out=$(./pan $run 2>&1)
    errors=$(echo "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | head -1)
    states=$(echo "$out" | sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' | head -1)
    first=$(echo "$out" | grep -E '^pan:[0-9]+:|^pan: (out of memory|error)' | head -1)
    secs=$((SECONDS - t0))
    if echo "$out" | grep -qE 'max search depth too small|out of memory|too many processes|MEMLIM'; then
      echo "FAIL  $name [$mode]: search incomplete: $(echo "$out" | grep -E 'max search depth|out of memory|too many|MEMLIM' | head -1)"
      exit
    fi
    case $expect in
      ok)
        if [ "$errors" = 0 ]; then
          echo "pass  $name [$mode] $states states, ${secs} s"
        else
          spin "$@" -t -p -g "$MODEL" >"$TRAILS/$name.$mode.FAILED.txt" 2>&1
          echo "FAIL  $name [$mode] ${first:-errors: $errors} (trail: $TRAILS/$name.$mode.FAILED.txt)"
        fi ;;
      cex:*)
        re=${expect#cex:}
        if [ "${errors:-0}" != 0 ] && echo "$first" | grep -qE "$re"; then
          spin "$@" -t -p -g "$MODEL" >"$TRAILS/$name.$mode.txt" 2>&1
          echo "pass  $name [$mode] counterexample as expected: ${first#pan:1: }, ${secs} s"
        else
          echo "FAIL  $name [$mode] expected a counterexample matching /$re/, got: ${first:-none (errors: ${errors:-?})}"
        fi ;;
    esac
  )
  echo "$result" >"$WORK/$name.$mode.out"
  echo "$result"
}

# check NAME MODE EXPECT SIZE DEFINES...: SIZE quick (also in -q) or full (only without -q)
running=0
check() {
  local name=$1 mode=$2 expect=$3 size=$4; shift 4
  [[ $name =~ $FILTER ]] || return 0
  [ "$QUICK" = 1 ] && [ "$size" != quick ] && return 0
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
  run_check "$name" "$mode" "$expect" "$size" "$@" &
  running=$((running + 1))
}

# Configurations. D: doers (each owns one unit and calls done()); agent 0
# (and agent 1) run async waits through one multiplexer each; blocking
# waiters are threads of their own unless SYNCA0 puts one on agent 0.
M="-DNDOER=2 -DNA=1 -DNLW=2"                       # one agent, two local waiters
H="-DNDOER=2 -DNA=2 -DNLW=1 -DNLW1=1"              # two agents, one waiter each
T="-DNDOER=2 -DNA=2 -DNLW=2 -DNLW1=1"              # two agents: 2 + 1 waiters
S="-DNDOER=2 -DNA=1 -DNLW=2 -DNSW=1"               # one agent + a blocking waiter

echo "== the protocol: every property holds"
check mux-1gen              safety ok quick $M -DABORTS=1
check mux-1gen              live   ok quick $M -DABORTS=1
check mux-both-abort        safety ok quick $M -DABORTS=3
check mux-both-abort        live   ok quick $M -DABORTS=3
check mux-3-waiters         safety ok quick -DNDOER=1 -DNA=1 -DNLW=3 -DABORTS=5
check mux-2gen              safety ok quick $M -DABORTS=1 -DNGEN=2
check mux-2gen              live   ok full  $M -DABORTS=1 -DNGEN=2
check two-agents            safety ok quick $T -DABORTS=1
check two-agents            live   ok full  $T -DABORTS=1
check two-agents-aborts     safety ok full  $T -DABORTS=9
check two-agents-2gen       safety ok full  $H -DABORTS=1 -DNGEN=2
check with-waitsync         safety ok quick $S -DABORTS=1 -DSWKIND0=K_SYNC_TIMEOUT
check with-waitsync         live   ok full  $S -DABORTS=1 -DSWKIND0=K_SYNC_TIMEOUT
check with-waitsync-2gen    safety ok full  -DNDOER=2 -DNA=1 -DNLW=1 -DNSW=1 -DABORTS=1 -DSWKIND0=K_SYNC_TIMEOUT -DNGEN=2
check waitsync-on-agent     safety ok quick $M -DABORTS=1 -DSYNCA0=1 -DSAKIND=K_SYNC_TIMEOUT
check waitsync-on-agent     live   ok full  $M -DABORTS=1 -DSYNCA0=1 -DSAKIND=K_SYNC_TIMEOUT
check extra-add             safety ok full  $M -DABORTS=3 -DEXTRA_ADD
check negative              safety ok quick $M -DABORTS=1 -DEXTRA_DONE=1
check overflow              safety ok quick $M -DABORTS=1 -DEXTRA_ADD -DSMALLMAX
check go-loop-release       safety ok full  $T -DABORTS=1 -DREL_LOOP
check release-notify-all    safety ok full  $T -DABORTS=1 -DREL_ALL
check flush-every-abort     safety ok full  $T -DABORTS=9 -DMUX_FLUSH=1
check one-token-per-cas     safety ok full  $T -DABORTS=1 -DMUX_SINGLE
check poll-fallback         safety ok quick $T -DABORTS=1 -DPOLL
check poll-fallback         live   ok full  $T -DABORTS=1 -DPOLL
# Go's rule broken (the next generation starts before every earlier wait
# returned), the two ghost checks it breaks turned off: still no hang, no
# leaked token, the word ends at 0, and REUSED only because the rule was broken.
check hazard-no-hang-no-leak safety ok full $H -DABORTS=1 -DNGEN=2 -DHAZARD -DGHOST_D=0 -DSTRICT_C=0

echo "== the documented hazard (misuse, SPEC S9): expected counterexamples"
check hazard-early-wake     safety 'cex:g_epoch>' full $H -DABORTS=1 -DNGEN=2 -DHAZARD -DGHOST_D=0
check hazard-steals-registration safety 'cex:g_epoch==wep' full $H -DABORTS=1 -DNGEN=2 -DHAZARD -DSTRICT_C=0

echo "== wrong variants: expected counterexamples (why each step is as it is)"
check wrong-mux-no-flush    safety 'cex:invalid end state' quick $T -DABORTS=1 -DMUX_FLUSH=0
check wrong-mux-one-per-wake safety 'cex:invalid end state' quick -DNDOER=1 -DNA=1 -DNLW=2 -DABORTS=0 -DMUX_ONE
check wrong-abort-blind-sub safety 'cex:wt>0' quick $M -DABORTS=1 -DABORT_V=1
check wrong-abort-forgets-token safety 'cex:tokens==0|invalid end state|g_issued' quick $M -DABORTS=1 -DABORT_V=2
check wrong-abort-guard-nonzero safety 'cex:wt>0' full $H -DABORTS=1 -DNGEN=2 -DHAZARD -DGHOST_D=0 -DSTRICT_C=0 -DABORT_V=5
check wrong-notify-before-add safety 'cex:invalid end state' quick $T -DABORTS=0 -DNOTIFY_FIRST
check wrong-park-without-check safety 'cex:invalid end state' quick $T -DABORTS=0 -DPARK_NOCHECK

wait
pass=0; fail=0
for f in "$WORK"/*.out; do
  [ -e "$f" ] || continue
  if grep -q '^pass' "$f"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
if [ $((pass + fail)) = 0 ]; then echo "no check matches /$FILTER/" >&2; fail=1; fi
echo "== $((pass + fail)) checks in $((SECONDS - started)) s"
echo "$pass passing"
[ "$fail" = 0 ] || echo "$fail failing"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
