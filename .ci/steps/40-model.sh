# The Promela model of the shared protocol (model/waitgroup.pml): its quick
# configurations, with Debian's SPIN (pan is compiled with gcc).
apt_install spin spin
suite "model" bash model/check.sh -q
