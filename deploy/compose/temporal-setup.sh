#!/bin/sh
# One-shot job (docker-compose.yml, service temporal-setup): the namespace stackchain uses and its
# search attributes, with the temporal CLI of the admin-tools image. Safe to run again: it adds
# only what is missing. `stackchain api` and `stackchain worker` would add the attributes too;
# doing it here first lets the Web UI filter chains before either has started.
set -eu
address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-30d}"

# Use the IPv4 address: the server listens on IPv4, and the CLI may try IPv6 first.
host=${address%:*}
ip=$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')
if [ -n "$ip" ]; then
    address="$ip:${address##*:}"
fi

# retry TRIES COMMAND...: run COMMAND until it succeeds, two seconds apart, at most TRIES times.
retry() {
    tries=$1
    shift
    attempt=1
    until "$@"; do
        if [ "$attempt" -ge "$tries" ]; then
            echo "gave up after $tries tries: $*" >&2
            return 1
        fi
        attempt=$((attempt + 1))
        sleep 2
    done
}

retry 30 temporal operator cluster health --address "$address"

if temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
    echo "namespace $namespace exists"
else
    temporal operator namespace create --namespace "$namespace" --retention "$retention" \
        --address "$address"
fi

# A new namespace takes a few seconds to reach every frontend cache.
list_attributes() {
    temporal operator search-attribute list --namespace "$namespace" --address "$address" \
        > /tmp/search-attributes
}
retry 30 list_attributes

for spec in StackchainRootStack:Keyword StackchainStacks:KeywordList StackchainStatus:Keyword; do
    name=${spec%%:*}
    type=${spec#*:}
    if grep -qw "$name" /tmp/search-attributes; then
        echo "search attribute $name exists"
    else
        retry 10 temporal operator search-attribute create --namespace "$namespace" \
            --address "$address" --name "$name" --type "$type"
    fi
done
echo "namespace $namespace ready for stackchain"
