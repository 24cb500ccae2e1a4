import type { SocketRecord } from '../../model/socket.js';

/**
 * A socket's identity within one node across scans. Namespace inode and table first: socket
 * inodes are host-unique among live sockets, but the same 4-tuple can exist in two namespaces.
 * Sockets with an inode are keyed by it plus their endpoints, so a recycled inode (the 32-bit
 * get_next_ino counter wraps on busy hosts) never continues another socket's history. Sockets
 * without one — TIME_WAIT, request sockets, orphans — are keyed by their endpoints, which the
 * kernel keeps unique within a namespace's table; unix embryos by the kernel pointer and name.
 */
export function socketKey(netnsInode: string, record: SocketRecord): string {
  // join() makes one flat string; concatenation leaves a chain of string pieces per key, kept
  // as long as the socket is.
  if (record.proto === 'unix') {
    return record.inode !== '0' ? [netnsInode, 'unix', record.inode].join('/') : [netnsInode, 'unix', '0', record.pointer, record.path ?? ''].join('/');
  }
  const endpoints = [record.localAddress, ':', record.localPort, '>', record.foreignAddress, ':', record.foreignPort].join('');
  return [netnsInode, record.proto, record.inode, endpoints].join('/');
}
