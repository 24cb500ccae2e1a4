/** A namespace's ephemeral port range (net.ipv4.ip_local_port_range). */
export interface PortRange {
  readonly low: number;
  readonly high: number;
  /** The namespace's own value could not be read: the kernel's default is assumed. */
  readonly assumed: boolean;
}

/** The kernel's default for a new namespace (inet_init_net), assumed when a namespace's own is unknown. */
export const DEFAULT_PORT_RANGE: PortRange = { low: 32768, high: 60999, assumed: true };
