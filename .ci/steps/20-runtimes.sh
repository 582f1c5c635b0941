# The cross-runtime suite (SPEC §6) on Node 20, Deno and Bun: the same compiled
# cases, run by spec/runtimes/run.js, a runner of our own (mocha does not start
# under Deno). Deno and Bun come from their npm packages (scripts/runtimes.sh).
suite "runtimes on node $(node --version)" node dist/spec/runtimes/run.js
deno_bin="$(scripts/runtimes.sh path deno)"
suite "runtimes on $("$deno_bin" --version | head -n 1)" "$deno_bin" run -A dist/spec/runtimes/run.js
bun_bin="$(scripts/runtimes.sh path bun)"
suite "runtimes on bun $("$bun_bin" --version)" "$bun_bin" dist/spec/runtimes/run.js
