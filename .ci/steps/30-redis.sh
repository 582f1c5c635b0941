# The Redis suite (SPEC §9, R12): awaitgroup/redis on a single redis-server
# and on a 3-master Cluster that the suite starts on loopback, with
# node-redis and ioredis. Debian's redis-server package brings redis-cli too.
apt_install redis-server redis-server
suite "redis" npm run test:redis
