import { isIP, SocketAddress } from 'node:net';
import { netstatAddress } from '../../model/address.js';

/**
 * IP text as one key for both sides: sockets carry inet_ntop text (agent/procfs/address.ts),
 * the API whatever its clients wrote. IPv4-mapped IPv6 is the IPv4 address, as netstat shows it.
 */

/**
 * An API address as the key the index uses: IPv4 as is, IPv6 in inet_ntop's form (lower
 * case, the longest zero run as `::`), IPv4-mapped IPv6 as IPv4. undefined when it is no IP.
 */
export function canonicalIp(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  // libuv's inet_ntop, like glibc's, is BIND's: the text the kernel tables are formatted in.
  return netstatAddress(new SocketAddress({ address: text, family: 'ipv6' }).address);
}

/** A socket's foreign address as the key the index uses: its text is already inet_ntop's. */
export function socketIp(address: string): string {
  return netstatAddress(address);
}

/** No far end: unix sockets, listeners and unconnected UDP (`*`). */
export function isUnspecified(ip: string): boolean {
  return ip === '' || ip === '0.0.0.0' || ip === '::';
}

/** 127.0.0.0/8 and ::1: the same pod (its own namespace) or host. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}
