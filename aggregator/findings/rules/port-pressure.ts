import { TcpState } from '../../../model/socket.js';
import { Proto } from '../../../gen/kubenetstat/v1/socket.js';
import { podSlots } from '../evidence.js';
import type { Candidate, Rule } from '../types.js';
import { heldBy, plural, podName } from '../words.js';

interface Route {
  readonly source: string;
  readonly address: string;
  readonly port: number;
  sockets: number;
  timeWait: number;
}

/**
 * Ephemeral port / TIME_WAIT pressure: connect() needs a local port per connection to the same
 * destination, from the namespace's ip_local_port_range, and a closed connection keeps its port
 * for 60 s in TIME_WAIT. For each (pod, source IP, destination IP:port) the share of the range
 * in use (TIME_WAIT included) is judged against portPressure.warnShare / criticalShare. Only a
 * pod whose connections with an ephemeral local port could reach that share (counted in the
 * pass) is looked at again, route by route. A range the agent did not report is assumed to be
 * the kernel's default (32768–60999) and the finding says so.
 */
export const portPressure: Rule = (part, { settings }) => {
  const { warnShare, criticalShare } = settings.portPressure;
  const candidates: Candidate[] = [];
  for (const pod of part.pods) {
    const range = pod.portRange;
    const size = range.high - range.low + 1;
    if (pod.ephemeral < warnShare * size) continue;
    const routes = new Map<string, Route>();
    for (const [node, slots] of podSlots(pod)) {
      const sockets = node.sockets;
      for (const slot of slots) {
        const proto = sockets.proto(slot);
        const state = sockets.stateCode(slot);
        const localPort = sockets.localPort(slot);
        const port = sockets.foreignPort(slot);
        if ((proto !== Proto.PROTO_TCP && proto !== Proto.PROTO_TCP6) || state === TcpState.LISTEN || port === 0 || localPort < range.low || localPort > range.high) continue;
        const source = sockets.localAddress(slot);
        const address = sockets.foreignAddress(slot);
        const key = `${source} ${address} ${port}`;
        let route = routes.get(key);
        if (!route) routes.set(key, (route = { source, address, port, sockets: 0, timeWait: 0 }));
        route.sockets++;
        if (state === TcpState.TIME_WAIT) route.timeWait++;
      }
    }
    for (const route of routes.values()) {
      const share = route.sockets / size;
      if (share < warnShare) continue;
      const { source, address, port, timeWait } = route;
      const percent = `${Math.round(share * 100)} %`;
      const destination = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
      const rangeText = `${range.low}–${range.high}${range.assumed ? ', assumed: the agent did not report this namespace\'s range' : ''}`;
      candidates.push({
        rule: 'port-pressure',
        subject: `${pod.key}:${source}>${destination}`,
        severity: share >= criticalShare ? 'critical' : 'warning',
        pod,
        sockets: route.sockets,
        trend: null,
        details: { source, destination: { address, port }, share, portRange: { low: range.low, high: range.high, assumed: range.assumed === true }, timeWait },
        match: (sockets, slot) =>
          sockets.foreignPort(slot) === port && sockets.localPort(slot) >= range.low && sockets.localPort(slot) <= range.high && sockets.stateCode(slot) !== TcpState.LISTEN && sockets.foreignAddress(slot) === address && sockets.localAddress(slot) === source,
        holdMs: 0,
        describe: (evidence) => ({
          summary: `${podName(pod)}${heldBy(evidence)} uses ${percent} of its ephemeral ports towards ${destination} from ${source}: ${plural(route.sockets, 'connection')} (${timeWait} in TIME_WAIT) in a range of ${size} (${rangeText})`,
          explanation:
            'Every connection from one address to the same destination needs its own local port from ip_local_port_range, and a closed connection keeps its port for 60 s in TIME_WAIT. ' +
            'When the range is used up, connect() fails with EADDRNOTAVAIL ("cannot assign requested address").',
          nextStep:
            'Reuse connections (HTTP keep-alive, a connection pool) instead of opening one per request; spread the load over more destination addresses; or widen net.ipv4.ip_local_port_range in the pod (a safe sysctl: securityContext.sysctls). ' +
            `\`kubectl netstat -n ${pod.namespace} --pod ${pod.name} -tan --address ${address} --port ${port}\` lists them.`,
        }),
      });
    }
  }
  return candidates;
};
