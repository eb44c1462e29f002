#!/bin/sh
# The image's entrypoint: the first argument names the process.
#   identity | registry | payments | gateway    a service (python -m services.<name>)
#   gateway-flows                              the gateway's flow worker
#   probe ARGS...                              python -m baylink.runtime.grpc.probe ARGS (exec probes)
#   baylink ARGS...                            the operators' CLI
set -eu
process=${1:-help}
[ $# -gt 0 ] && shift
case $process in
    identity | registry | payments | gateway) exec python -m "services.$process" "$@" ;;
    gateway-flows) exec python -m services.gateway.flows "$@" ;;
    probe) exec python -m baylink.runtime.grpc.probe "$@" ;;
    baylink) exec baylink "$@" ;;
    *)
        echo "usage: baylink-entrypoint identity|registry|payments|gateway|gateway-flows|probe ARGS|baylink ARGS" >&2
        [ "$process" = help ] && exit 0
        exit 2
        ;;
esac
