/** Addresses as text: the forms the kernel's inet_ntop gives and netstat prints. */

const V4_MAPPED_PREFIX = '::ffff:';

/** True for `::ffff:a.b.c.d`, the form a dual-stack socket uses for IPv4 peers. */
export function isV4Mapped(address: string): boolean {
  return address.startsWith(V4_MAPPED_PREFIX) && address.includes('.');
}

/**
 * The address as `netstat -n` prints it: IPv4-mapped IPv6 shown as plain IPv4
 * (`fix_v4_address` in net-tools lib/inet6.c); everything else unchanged.
 */
export function netstatAddress(address: string): string {
  return isV4Mapped(address) ? address.slice(V4_MAPPED_PREFIX.length) : address;
}
