export const LOCAL_USAGE = `usage: kube-netstat local [-tuwxlanpeoW46] [-c [SECONDS]] [--netns PID|INODE|PATH]
                         [--state STATE] [--port PORT] [--address IP[/PREFIX]]
                         [-o json|yaml|wide] [--proc-root DIR]

One scan of this host's socket tables, in every network namespace, netstat-compatible.
Without --netns, each namespace is listed under a line naming it; with --netns the output
is exactly what netstat prints inside that namespace.

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
                           wide (netstat columns with -e -p -o -W)
      --proc-root DIR      read the host's /proc from DIR (default /proc; /host/proc in a pod)

Examples:
  kube-netstat local -tanp                        every TCP socket of every namespace
  kube-netstat local --netns 1234 -tanpo          netstat -tanpo inside pid 1234's namespace
  kube-netstat local -tan --state close-wait      who is leaking CLOSE_WAIT
  kube-netstat local -tuan -o json | jq .items[0]
`;
