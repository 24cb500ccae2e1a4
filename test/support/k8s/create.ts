/**
 * POST to a collection: the create verb, as far as clients here need it (Kubernetes Events).
 * The body must be one object of the collection's kind; metadata.namespace comes from the path
 * (a different one is refused, as the API server does); metadata.generateName gets a random
 * suffix; a name taken is 409 AlreadyExists. Returns what was stored.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { groupVersionOf } from './resources.js';
import { ApiError, badRequest, statusOf } from './status.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, ResourceType } from './types.js';

/** The resources clients here create (anything else answers POST with 405, as before). */
export const CREATABLE: ReadonlySet<string> = new Set(['events']);

/** Bodies above this are refused, as the API server refuses requests above its limit (3 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(statusOf(413, 'request entity too large')));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export function createObject(store: ObjectStore, resource: ResourceType, namespace: string | undefined, text: string): KubeObject {
  let object: KubeObject;
  try {
    object = JSON.parse(text) as KubeObject;
  } catch {
    throw badRequest('the body is not JSON');
  }
  if (typeof object !== 'object' || object === null || typeof object.metadata !== 'object' || object.metadata === null) throw badRequest('the body has no metadata');
  object.kind ??= resource.kind;
  object.apiVersion ??= groupVersionOf(resource);
  if (object.kind !== resource.kind || object.apiVersion !== groupVersionOf(resource)) throw badRequest(`the body is a ${object.apiVersion}/${object.kind}, not a ${groupVersionOf(resource)}/${resource.kind}`);
  if (object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  if (namespace !== undefined) object.metadata.namespace = namespace;
  const generateName = object.metadata.generateName;
  if (!object.metadata.name && typeof generateName === 'string') object.metadata.name = `${generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
  if (!object.metadata.name) throw badRequest('name or generateName is required');
  if (store.get({ kind: resource.kind, apiVersion: object.apiVersion, ...(namespace !== undefined && { namespace }), name: object.metadata.name })) {
    throw new ApiError(statusOf(409, `${resource.resource} "${object.metadata.name}" already exists`, { name: object.metadata.name, kind: resource.resource }));
  }
  return store.upsert(object);
}
