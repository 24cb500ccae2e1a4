import { readFileSync } from 'node:fs';

/**
 * Name lookups for netstat's non-numeric mode, from the local files only: /etc/services for
 * ports, /etc/hosts for addresses, /etc/passwd for users. No DNS query is ever made — a
 * cluster-wide netstat must not stall on reverse lookups of pod IPs.
 */
export interface NameResolver {
  service(port: number, proto: 'tcp' | 'udp' | 'raw'): string | undefined;
  host(address: string): string | undefined;
  user(uid: number): string | undefined;
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n');
  } catch (error) {
    // A missing or unreadable file means no names of that kind: numeric output, as netstat.
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'ENOENT' || code === 'EACCES') return [];
    throw error;
  }
}

function fields(line: string): string[] {
  const hash = line.indexOf('#');
  return (hash >= 0 ? line.slice(0, hash) : line).trim().split(/\s+/).filter(Boolean);
}

export class FileNameResolver implements NameResolver {
  private services?: Map<string, string>;
  private hosts?: Map<string, string>;
  private users?: Map<number, string>;

  constructor(private readonly etc = '/etc') {}

  service(port: number, proto: 'tcp' | 'udp' | 'raw'): string | undefined {
    if (!this.services) {
      this.services = new Map();
      for (const line of readLines(`${this.etc}/services`)) {
        const [name, portProto] = fields(line);
        if (name && portProto && !this.services.has(portProto)) this.services.set(portProto, name);
      }
    }
    return this.services.get(`${port}/${proto}`);
  }

  host(address: string): string | undefined {
    if (!this.hosts) {
      this.hosts = new Map();
      for (const line of readLines(`${this.etc}/hosts`)) {
        const [ip, name] = fields(line);
        if (ip && name && !this.hosts.has(ip)) this.hosts.set(ip, name);
      }
    }
    return this.hosts.get(address);
  }

  user(uid: number): string | undefined {
    if (!this.users) {
      this.users = new Map();
      for (const line of readLines(`${this.etc}/passwd`)) {
        const [name, , id] = line.split(':');
        const numeric = Number(id);
        if (name && id && Number.isInteger(numeric) && !this.users.has(numeric)) this.users.set(numeric, name);
      }
    }
    return this.users.get(uid);
  }
}
