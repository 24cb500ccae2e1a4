/** A listen address, `host:port` (`[::1]:9100` for IPv6; an empty host is every address), split; port 0 picks one. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(at + 1));
  if (at < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid listen address '${listen}': expected host:port`);
  return { host: host || '0.0.0.0', port };
}
