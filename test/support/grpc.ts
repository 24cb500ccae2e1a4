import type { ServiceError } from '@grpc/grpc-js';

/** A unary call's callback that settles a promise: `new Promise((resolve, reject) => client.list(request, settle(resolve, reject)))`. */
export const settle =
  <T>(resolve: (value: T) => void, reject: (error: ServiceError) => void) =>
  (error: ServiceError | null, response: T): void =>
    error ? reject(error) : resolve(response);
