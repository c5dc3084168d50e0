# Recipe of lab-orchestrator/shell (sourced by deploy/images/build.sh; its hash
# decides whether the image is rebuilt). A shell with network tools on Debian.
SUITE=bookworm
SHELL_PACKAGES=bash,iproute2,iputils-ping,procps,netcat-openbsd,curl,ca-certificates,passwd,less,nano-tiny
# PID 1 of a lab container: a shell that reaps orphans and stops at once on TERM.
IDLE_CMD='CMD ["/bin/bash", "-c", "trap \"exit 0\" TERM; while :; do sleep 3600 & wait $!; done"]'
