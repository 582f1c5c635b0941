# The Redis suite (SPEC §9, R12, R15-R17, R20): awaitgroup/redis on a single
# redis-server, a 3-master Cluster, a Cluster of 3 masters with a replica each
# and a Sentinel set (a master, 2 replicas, 3 sentinels), all started by the
# suite on loopback, with node-redis 5 and 6, ioredis 5 and 6 and iovalkey.
# Debian's redis-server package brings redis-cli too; redis-sentinel is its
# own package. The suite runs on every Node line: the machine's Node 20
# through npm (which builds first), then 22, 24 and 26 on the same build
# (scripts/runtimes.sh); member processes fork process.execPath, so they run
# on the same line.
apt_install redis-server redis-server
apt_install redis-sentinel redis-sentinel
suite "redis, node 20 ($(node --version))" npm run test:redis
for line in 22 24 26; do
  node_bin="$(scripts/runtimes.sh path "node$line")"
  suite "redis, node $line ($("$node_bin" --version))" \
    "$node_bin" node_modules/mocha/bin/mocha.js --config .mocharc.redis.json
done
