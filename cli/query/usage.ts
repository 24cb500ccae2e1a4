/** `kubectl netstat --help` (also `kube-netstat query --help`). */
export const QUERY_USAGE = (name: string): string => `usage: ${name} [summary|top|watch] [-tuwxlanpeoW46] [-c [SECONDS]]
           [-n NAMESPACE | -A] [-l SELECTOR] [--pod NAME] [--container NAME] [--node NODE]
           [--workload [KIND/]NAME] [--state STATE] [--port PORT] [--address IP[/PREFIX]]
           [--local-port PORT] [--foreign-port PORT] [--local-address IP] [--foreign-address IP]
           [--min-recv-q BYTES] [--min-send-q BYTES] [--min-age DURATION]
           [-o json|yaml|wide] [--no-headers] [--sort-by FIELD] [--limit N] [--watch]
           [--server URL | --aggregator-namespace NS --aggregator-service NAME[:PORT]]
           [--kubeconfig FILE] [--context NAME]
       ${name} leaks [-n NAMESPACE | -A] [--pod NAME] [--rule RULE] [--severity LEVEL] [-a]
       ${name} history POD [-n NAMESPACE] [--resolution fine|coarse] [--width N]
       ${name} completion bash|zsh

netstat for every pod of the cluster, from the kube-netstat aggregator. The columns are
netstat's, with NAMESPACE, POD and CONTAINER in front; like kubectl, only the current
namespace is shown unless -n or -A says otherwise (-A adds the nodes' own sockets).

Commands:
  (none)     list sockets, netstat-style
  summary    socket counts by state per namespace (--by namespace|workload|pod|node)
  top        pods ranked by a state's count or queued bytes (--by close-wait|time-wait|...|
             recv-q|send-q; --limit N pods, default 10)
  watch      the listing, then every change as it happens (also --watch; with summary, top,
             leaks and history, --watch prints them again every 2 s, or every -c SECONDS)
  leaks      the aggregator's leak findings, newest first, each with why and what to do next
             (--rule close-wait-leak,port-pressure,...; --severity warning; -a: resolved too)
  history    one pod's socket counts by state over time, as sparklines (POD or NAMESPACE/POD)
  completion bash|zsh   shell completion script (namespaces and pods complete from the API)

netstat's flags:
  -t, --tcp   -u, --udp   -w, --raw   -x, --unix   -4, --inet   -6, --inet6
  -l, --listening          only listening sockets   -a, --all   listening and connected
  -n, --numeric            numeric ports (hosts and users are always numeric here)
  -p, --programs           PID/Program name        -e, --extend   User and Inode
  -o, --timers             Timer column            -W, --wide     don't truncate addresses
  -c, --continuous [SECS]  repeat every SECS seconds (default 1)
  (-w is netstat's raw sockets; kubectl's watch is --watch or the watch command.)

Filters (run in the aggregator):
  -n, --namespace NS       pods of this namespace (default: the context's namespace)
  -A, --all-namespaces     every namespace, and the nodes' own sockets
  -l, --selector SEL       pods matching a label selector (app=web,tier!=db)
      --pod NAME           --container NAME     --node NODE
      --workload [KIND/]NAME   pods of a workload (web, deployment/web, statefulset/db)
      --state S[,S...]     ss state names or groups: established, syn-sent, syn-recv,
                           fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,
                           listening, closing; all, connected, synchronized, bucket, big
      --port N[,N...]      either end's port
      --address A[,A...]   either end's address, IP or CIDR (10.0.0.0/8, fd00::/8)
      --local-port, --foreign-port N[,N...]          one end's port (ss's sport, dport)
      --local-address, --foreign-address A[,A...]    one end's address or CIDR (src, dst)
      --min-recv-q BYTES, --min-send-q BYTES   at least this much queued (4096, 64k)
      --min-age DURATION   first seen at least this long ago (90s, 10m, 1h)

Output:
  -o, --output FORMAT      wide (NODE, WORKLOAD, NETNS; netstat's -eepoW columns),
                           json or yaml (SocketList, with every holder process)
      --no-headers         rows only
      --sort-by FIELD      a SocketList item field: recvQ, sendQ, firstSeen, localPort, ...;
                           -FIELD sorts descending (--sort-by=-recvQ)
      --limit N            at most N sockets (top: N pods)
      --output-watch-events  with watch: an EVENT column (ADDED, MODIFIED, DELETED)

Reaching the aggregator (kubectl's kubeconfig rules: --kubeconfig, $KUBECONFIG, ~/.kube/config):
      --kubeconfig FILE    --context NAME
      --aggregator-namespace NS        default $KUBE_NETSTAT_AGGREGATOR_NAMESPACE, else kube-netstat
      --aggregator-service NAME[:PORT] default $KUBE_NETSTAT_AGGREGATOR_SERVICE, else
                                       kube-netstat:http, reached through the API server's
                                       service proxy with your credentials
      --server URL         the aggregator's HTTP address instead (port-forward, standalone)
      --token TOKEN        the bearer token sent with --server (default: the kubeconfig's)
      --chunk-size N       sockets per request (default 20000; 0 for one request)
      --request-timeout DURATION       how long to wait for an answer (default 30s; 0 forever;
                                       a watch is only bounded until it starts)

Exit status: 0 answered (a partial answer warns on stderr), 1 no answer (unreachable,
not installed, forbidden), 2 bad usage.

Examples:
  ${name} -tanp                             netstat -tanp inside every pod of the namespace
  ${name} -A --state close-wait -o wide     who is leaking CLOSE_WAIT, cluster-wide
  ${name} -n shop -l app=cart -tanpo        one workload's TCP sockets with timers
  ${name} top -A --by close-wait            the ten pods holding most CLOSE_WAIT sockets
  ${name} summary -A --by workload          state counts per workload
  ${name} -A --min-recv-q 1 --sort-by=-recvQ   stuck receive queues, biggest first
  ${name} summary -A --by pod --foreign-address 10.0.3.7 --foreign-port 5432
                                            who holds connections to the database, by state
  ${name} watch -n shop --state syn-sent    connections that never complete, live
  ${name} leaks -A                          which pods leak connections, and why
  ${name} history -n shop cart-7d9f-abcde   how its sockets changed over the last hour
  ${name} -A -tan -o json | jq '.items[] | select(.state=="TIME_WAIT") | .pod'
  ${name} --server http://127.0.0.1:9101 -A -tan    a local 'kube-netstat standalone'
`;
