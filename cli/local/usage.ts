export const LOCAL_USAGE = `usage: kube-netstat local [-tuwxlanpeoW46] [-c [SECONDS]] [--netns PID|INODE|PATH]
                         [--state STATE] [--port PORT] [--address IP[/PREFIX]]
                         [-n NAMESPACE | -A] [-l SELECTOR] [--pod NAME]
                         [-o json|yaml|wide] [--proc-root DIR]

One scan of this host's socket tables, in every network namespace, netstat-compatible.
Each socket is named by its pod and container (NAMESPACE, POD, CONTAINER columns in front,
as kubectl prints them), found through the holding process's cgroup or the pod's network
namespace; with Kubernetes API access, by name, otherwise by pod UID and container ID.
Each namespace is listed under a line naming it. With --netns the output is exactly what
netstat prints inside that namespace.

  -t, --tcp                TCP sockets            -u, --udp        UDP sockets
  -w, --raw                raw sockets            -x, --unix       unix domain sockets
  -4, --inet               IPv4 only              -6, --inet6      IPv6 only
  -l, --listening          only listening/server sockets
  -a, --all                listening and non-listening sockets (default: connected)
  -n, --numeric            don't resolve names (names come from /etc files, never DNS)
      --numeric-hosts, --numeric-ports, --numeric-users
  -p, --programs           PID/Program name of the (first) process holding each socket
  -e, --extend             User and Inode columns
  -o, --timers             Timer column: off, on, keepalive, timewait, probe (S/retrans/probes)
  -W, --wide               don't truncate addresses
  -c, --continuous [SECS]  repeat every SECS seconds (default 1)
      --netns X            one namespace: a pid in it, its inode, or a path (/run/netns/NAME)
      --state S[,S...]     ss state names or groups: established, syn-sent, syn-recv,
                           fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack,
                           listening, closing; all, connected, synchronized, bucket, big
      --port N[,N...]      either end's port
      --address A[,A...]   either end's address, IP or CIDR (10.0.0.0/8, fd00::/8)
  -o, --output FORMAT      json or yaml (the SocketList contract, every holder process),
                           wide (NODE, WORKLOAD, NETNS; netstat columns with -e -p -o -W)
      --proc-root DIR      read the host's /proc from DIR (default /proc; /host/proc in a pod)

Kubernetes (kubectl's flags; a standalone -n or -l followed by a value is kubectl's,
inside a group like -tlnp they are netstat's):
  -n, --namespace NS       only pods of this namespace        -A, --all-namespaces
  -l, --selector SEL       only pods matching this label selector (app=web,tier!=db)
      --pod NAME           only this pod
      --kubeconfig FILE    default $KUBECONFIG, then ~/.kube/config, then in-cluster
      --context NAME       a context of the kubeconfig
      --node NAME          whose pods to ask the API for (default $NODE_NAME, else the host name)

Examples:
  kube-netstat local -tanp                        every TCP socket of every namespace
  kube-netstat local --netns 1234 -tanpo          netstat -tanpo inside pid 1234's namespace
  kube-netstat local -tan --state close-wait      who is leaking CLOSE_WAIT
  kube-netstat local -tuan -o json | jq .items[0]
  kube-netstat local -tanp -n shop -l app=cart    one workload's sockets on this node
`;
