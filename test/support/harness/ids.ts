/** Identifiers in the shapes Kubernetes and the container runtimes produce. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** A container or sandbox id: 64 lower-case hex, as containerd, CRI-O and Docker make them. */
export function randomContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** A pod UID from the API server: a dashed UUID. */
export function randomPodUid(): string {
  return randomUUID();
}

/** A static pod's UID: kubelet's MD5 of the manifest, 32 hex (applyDefaults in pkg/kubelet/config/common.go). */
export function staticPodConfigHash(manifest: unknown): string {
  return createHash('md5').update(JSON.stringify(manifest)).update(randomBytes(8)).digest('hex');
}

/** A UUID-shaped id that is the same for the same seed: owners shared by several pods keep one uid. */
export function stableUid(seed: string): string {
  const hex = createHash('sha1').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The alphabet of k8s.io/apimachinery/pkg/util/rand: no vowels, no look-alikes. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix of generateName (`web-5d8f7c9b4-x2k9q`). */
export function randomNameSuffix(length = 5): string {
  return [...randomBytes(length)].map((byte) => SAFE_ALPHABET[byte % SAFE_ALPHABET.length]).join('');
}

/** A pod-template-hash / controller-revision-hash: fixed for a seed, in the safe alphabet. */
export function stableHash(seed: string, length = 9): string {
  return [...createHash('sha1').update(seed).digest()].slice(0, length).map((byte) => SAFE_ALPHABET[byte % SAFE_ALPHABET.length]).join('');
}

/** A sha256 image digest (64 hex) that is the same for the same image reference. */
export function imageDigest(image: string): string {
  return createHash('sha256').update(image).digest('hex');
}
