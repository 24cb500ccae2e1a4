import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { canonicalIp, nodeAddressesOf, PeerIndex, podAddressesOf, serviceAddressesOf, serviceEndpointsOf, type AddressOwner } from '../../../aggregator/peers/index.js';
import { PodCache, readSocket } from '../../../aggregator/ingest/index.js';
import { WireFormatError } from '../../../aggregator/wire/index.js';
import { peerText } from '../../../model/json/peer-text.js';
import type { PeerItem } from '../../../model/json/socket-list.js';
import { Peer, Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { endpointSlice, node, pod, service, type KubeObject } from '../../support/k8s/index.js';

/**
 * The peer index on its own: API objects as the informers keep them, fed in as their events
 * would, and lookups by the foreign address text the socket store holds.
 */

/** An object as client-node hands it over: the API's JSON. */
const api = <T>(object: KubeObject): T => JSON.parse(JSON.stringify(object)) as T;
const podOf = (object: KubeObject) => podAddressesOf(api<V1Pod>(object));
const serviceOf = (object: KubeObject) => serviceAddressesOf(api<V1Service>(object));
const nodeOf = (object: KubeObject) => nodeAddressesOf(api<V1Node>(object));
const endpointsOf = (object: KubeObject) => serviceEndpointsOf(api<V1EndpointSlice>(object))!;

const peer = (kind: string, namespace = '', name = '', services: string[] = []): Peer => ({ kind, namespace, name, services });

/** A small cluster: two nodes, a dual-stack service with two backing pods, a hostNetwork exporter. */
function cluster(): { index: PeerIndex; owners: Record<string, AddressOwner> } {
  const owners: Record<string, AddressOwner> = {
    nodeA: nodeOf(node('node-a', {}, { internalIPs: ['10.0.0.5', 'fd00:10::5'], externalIPs: ['203.0.113.5'] })),
    nodeB: nodeOf(node('node-b', {}, { internalIPs: ['10.0.0.6'] })),
    cart1: podOf(pod({ name: 'cart-1', namespace: 'shop', nodeName: 'node-a', podIPs: ['10.244.1.7', 'fd00:244::7'] })),
    cart2: podOf(pod({ name: 'cart-2', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.9' })),
    lonely: podOf(pod({ name: 'lonely', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.10' })),
    cartSvc: serviceOf(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.20', 'fd00:96::20'], selector: { app: 'cart' } })),
    cartV4: endpointsOf(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.1.7'], pod: 'cart-1' }, { addresses: ['10.244.2.9'], pod: 'cart-2', ready: false }] })),
    cartV6: endpointsOf(endpointSlice({ namespace: 'shop', service: 'cart', suffix: 'v6', addressType: 'IPv6', endpoints: [{ addresses: ['fd00:244::7'], pod: 'cart-1' }] })),
    exporter: podOf(pod({ name: 'node-exporter-x', namespace: 'monitoring', nodeName: 'node-a', hostNetwork: true, podIP: '10.0.0.5', containers: [{ name: 'exporter', ports: [{ containerPort: 9100 }] }] })),
  };
  const index = new PeerIndex();
  for (const owner of Object.values(owners)) index.upsert(owner, undefined);
  return { index, owners };
}

describe('PeerIndex: what is behind a foreign address', () => {
  const { index } = cluster();
  const cases: { name: string; address: string; port?: number; expected: Peer | undefined }[] = [
    { name: 'a pod IP names the pod and the services it backs', address: '10.244.1.7', expected: peer('pod', 'shop', 'cart-1', ['shop/cart']) },
    { name: 'a pod\'s second (IPv6) IP names it too', address: 'fd00:244::7', expected: peer('pod', 'shop', 'cart-1', ['shop/cart']) },
    { name: 'a not-ready endpoint still backs its service', address: '10.244.2.9', expected: peer('pod', 'shop', 'cart-2', ['shop/cart']) },
    { name: 'a pod no service selects', address: '10.244.2.10', expected: peer('pod', 'shop', 'lonely') },
    { name: 'a ClusterIP names the service', address: '10.96.0.20', port: 80, expected: peer('service', 'shop', 'cart') },
    { name: 'both IPs of a dual-stack service', address: 'fd00:96::20', expected: peer('service', 'shop', 'cart') },
    { name: 'a node InternalIP', address: '10.0.0.6', expected: peer('node', '', 'node-b') },
    { name: 'a node ExternalIP', address: '203.0.113.5', expected: peer('node', '', 'node-a') },
    { name: 'a node IPv6 InternalIP', address: 'fd00:10::5', expected: peer('node', '', 'node-a') },
    { name: 'IPv4-mapped IPv6 matches the IPv4 entry', address: '::ffff:10.244.1.7', expected: peer('pod', 'shop', 'cart-1', ['shop/cart']) },
    { name: 'IPv4-mapped ClusterIP', address: '::ffff:10.96.0.20', expected: peer('service', 'shop', 'cart') },
    { name: 'a hostNetwork pod\'s node IP names the node', address: '10.0.0.5', port: 40123, expected: peer('node', '', 'node-a') },
    { name: 'on a containerPort of a hostNetwork pod, the pod', address: '10.0.0.5', port: 9100, expected: peer('pod', 'monitoring', 'node-exporter-x') },
    { name: 'IPv4 loopback is local', address: '127.0.0.1', expected: peer('local') },
    { name: 'all of 127/8 is local', address: '127.0.0.53', expected: peer('local') },
    { name: 'IPv6 loopback is local', address: '::1', expected: peer('local') },
    { name: 'IPv4-mapped loopback is local', address: '::ffff:127.0.0.1', expected: peer('local') },
    { name: 'an address the cluster does not claim is external', address: '93.184.216.34', port: 443, expected: peer('external') },
    { name: 'an unknown IPv6 address is external', address: '2001:db8::1', expected: peer('external') },
    { name: 'unspecified IPv4 (listening, unconnected) has no peer', address: '0.0.0.0', expected: undefined },
    { name: 'unspecified IPv6 has no peer', address: '::', expected: undefined },
    { name: 'IPv4-mapped unspecified has no peer', address: '::ffff:0.0.0.0', expected: undefined },
    { name: 'no address (unix) has no peer', address: '', expected: undefined },
  ];
  for (const { name, address, port, expected } of cases) {
    test(name, () => assert.deepEqual(index.peerOf(address, port ?? 0)?.message, expected));
  }

  test('a peer\'s bytes are its message encoded, shared by every socket with that peer', () => {
    const resolved = index.peerOf('10.244.1.7', 443)!;
    assert.deepEqual(Peer.decode(resolved.bytes), resolved.message);
    assert.equal(index.peerOf('10.244.1.7', 8080), resolved);
  });
});

describe('PeerIndex follows informer events', () => {
  test('an update moves the pod\'s claim to its new IP; the old one becomes external', () => {
    const { index, owners } = cluster();
    const moved = podOf(pod({ name: 'lonely', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.11' }));
    index.upsert(moved, owners.lonely);
    assert.deepEqual(index.peerOf('10.244.2.11', 0)?.message, peer('pod', 'shop', 'lonely'));
    assert.deepEqual(index.peerOf('10.244.2.10', 0)?.message, peer('external'));
  });

  test('deleting a service, a node or a pod frees its addresses', () => {
    const { index, owners } = cluster();
    const claimed = index.size;
    index.remove(owners.cartSvc!);
    index.remove(owners.nodeB!);
    index.remove(owners.lonely!);
    for (const address of ['10.96.0.20', 'fd00:96::20', '10.0.0.6', '10.244.2.10']) assert.deepEqual(index.peerOf(address, 0)?.message, peer('external'), address);
    assert.equal(index.size, claimed - 4);
  });

  test('EndpointSlice changes change which services a pod backs', () => {
    const { index, owners } = cluster();
    const web = endpointsOf(endpointSlice({ namespace: 'shop', service: 'web', endpoints: [{ addresses: ['10.244.1.7'] }] }));
    index.upsert(web, undefined);
    assert.deepEqual(index.peerOf('10.244.1.7', 0)?.message.services, ['shop/cart', 'shop/web']);
    // The cart slice drops cart-1 (scaled down, or its pod no longer matches).
    index.upsert(endpointsOf(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.2.9'] }] })), owners.cartV4);
    index.remove(owners.cartV6!);
    assert.deepEqual(index.peerOf('10.244.1.7', 0)?.message.services, ['shop/web']);
    assert.deepEqual(index.peerOf('fd00:244::7', 0)?.message.services, []);
    assert.deepEqual(index.peerOf('10.244.2.9', 0)?.message.services, ['shop/cart']);
  });

  test('a pod IP reused before the old pod\'s deletion arrives names the newer pod, then the survivor', () => {
    const { index, owners } = cluster();
    const successor = podOf(pod({ name: 'cart-3', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.10' }));
    index.upsert(successor, undefined);
    assert.equal(index.peerOf('10.244.2.10', 0)?.message.name, 'cart-3');
    index.remove(owners.lonely!);
    assert.equal(index.peerOf('10.244.2.10', 0)?.message.name, 'cart-3');
  });

  test('a node IP without its Node object still names the node its hostNetwork pods run on', () => {
    const { index, owners } = cluster();
    index.remove(owners.nodeA!);
    assert.deepEqual(index.peerOf('10.0.0.5', 22)?.message, peer('node', '', 'node-a'));
    assert.equal(index.peerOf('10.0.0.5', 9100)?.message.name, 'node-exporter-x');
    index.remove(owners.exporter!);
    assert.deepEqual(index.peerOf('10.0.0.5', 9100)?.message, peer('external'));
  });

  test('an address only a selectorless service\'s EndpointSlice lists is external, naming the service', () => {
    const { index } = cluster();
    index.upsert(endpointsOf(endpointSlice({ namespace: 'db', service: 'postgres', endpoints: [{ addresses: ['192.0.2.40'] }] })), undefined);
    assert.deepEqual(index.peerOf('192.0.2.40', 5432)?.message, peer('external', '', '', ['db/postgres']));
  });
});

describe('what the informers keep of API objects', () => {
  test('a finished pod claims no IP: the kubelet may already have given it to another pod', () => {
    assert.deepEqual(podOf(pod({ name: 'job-1', namespace: 'batch', nodeName: 'node-a', podIP: '10.244.1.8', phase: 'Succeeded' })).ips, []);
    assert.deepEqual(podOf(pod({ name: 'job-2', namespace: 'batch', nodeName: 'node-a', podIP: '10.244.1.9', phase: 'Failed' })).ips, []);
  });

  test('only hostNetwork pods keep their container ports', () => {
    const containers = [{ name: 'web', ports: [{ containerPort: 8080 }, { containerPort: 8443 }] }];
    assert.deepEqual(podOf(pod({ name: 'web', namespace: 'shop', podIP: '10.244.1.3', containers })).ports, []);
    assert.deepEqual(podOf(pod({ name: 'web', namespace: 'shop', podIP: '10.0.0.5', hostNetwork: true, containers })).ports, [8080, 8443]);
  });

  test('a headless service claims no ClusterIP', () => {
    assert.deepEqual(serviceOf(service({ name: 'db', namespace: 'shop' })), { kind: 'service', namespace: 'shop', name: 'db', ips: [] });
  });

  test('a node keeps InternalIP and ExternalIP, not its Hostname', () => {
    assert.deepEqual(nodeOf(node('node-a', {}, { internalIPs: ['10.0.0.5'], externalIPs: ['203.0.113.5'] })), { kind: 'node', name: 'node-a', ips: ['10.0.0.5', '203.0.113.5'], condition: { ready: true, cordoned: false } });
  });

  test('a slice without a service name, or of FQDNs, is not kept', () => {
    const unnamed = api<V1EndpointSlice>(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.1.7'] }] }));
    delete unnamed.metadata!.labels!['kubernetes.io/service-name'];
    assert.equal(serviceEndpointsOf(unnamed), undefined);
    assert.equal(serviceEndpointsOf(api<V1EndpointSlice>(endpointSlice({ namespace: 'shop', service: 'ext', addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] }))), undefined);
  });

  test('API addresses become the text the kernel tables use', () => {
    for (const [text, expected] of [
      ['10.1.2.3', '10.1.2.3'],
      ['FD00:0:0:0::0007', 'fd00::7'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['::ffff:10.1.2.3', '10.1.2.3'],
      ['None', undefined],
      ['', undefined],
    ] as const) {
      assert.equal(canonicalIp(text), expected, text);
    }
  });
});

test('an agent cannot send a peer: only answers to queries name peers', () => {
  const socket = Socket.fromPartial({ key: 'k', proto: Proto.PROTO_TCP, stateCode: 1, localAddress: '10.244.1.7', localPort: 8080, foreignAddress: '10.244.2.9', foreignPort: 40000, peer: peer('pod', 'shop', 'forged') });
  const bytes = Buffer.from(Socket.encode(socket).finish());
  assert.throws(() => readSocket(bytes, 0, bytes.length, new PodCache()), (error: unknown) => error instanceof WireFormatError && /peer/.test(error.message));
});

test('peerText: a peer as one word in a column of wide output', () => {
  const cases: [PeerItem | null, string][] = [
    [{ kind: 'pod', namespace: 'shop', name: 'cart-1', services: ['shop/cart'] }, 'pod/shop/cart-1'],
    [{ kind: 'service', namespace: 'shop', name: 'cart', services: [] }, 'svc/shop/cart'],
    [{ kind: 'node', namespace: null, name: 'node-b', services: [] }, 'node/node-b'],
    [{ kind: 'local', namespace: null, name: null, services: [] }, 'local'],
    [{ kind: 'external', namespace: null, name: null, services: ['db/postgres'] }, 'external'],
    [null, '-'],
  ];
  for (const [peer, text] of cases) assert.equal(peerText(peer), text);
});
