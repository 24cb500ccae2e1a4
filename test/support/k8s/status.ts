/**
 * meta/v1 Status errors with the reasons and messages the real API server uses
 * (k8s.io/apimachinery/pkg/api/errors). Handlers throw `ApiError`; the server writes its
 * `status` as the response body with `status.code` as the HTTP status.
 */
import type { ResourceType, Status } from './types.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: Status) {
    super(status.message);
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusOf(code: number, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'Unknown', ...(details && { details }), code };
}

export const badRequest = (message: string): ApiError => new ApiError(statusOf(400, message));

export const unauthorized = (): ApiError => new ApiError(statusOf(401, 'Unauthorized'));

export const notFoundPath = (): ApiError => new ApiError(statusOf(404, 'the server could not find the requested resource', {}));

export const notFoundObject = (resource: ResourceType, name: string): ApiError =>
  new ApiError(statusOf(404, `${resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`} "${name}" not found`, { name, ...(resource.group !== '' && { group: resource.group }), kind: resource.resource }));

export const methodNotAllowed = (): ApiError => new ApiError(statusOf(405, 'the server does not allow this method on the requested resource', {}));

/** 410 Gone: the revision asked for has been compacted away. */
export const expired = (message: string): ApiError => new ApiError(statusOf(410, message));
