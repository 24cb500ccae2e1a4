import { QueryError } from './spec.js';

/** Where a listing resumes: a continue token is this, as base64url JSON. */
export interface Position {
  readonly node: string;
  readonly offset: number;
  /** Set in the tokens of sorted listings: the offset is into that order. */
  readonly sortBy?: string;
}

export function encodeToken(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeToken(token: string): Position {
  try {
    const position = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Position>;
    if (typeof position.node === 'string' && Number.isInteger(position.offset) && (position.offset ?? -1) >= 0 && (position.sortBy === undefined || typeof position.sortBy === 'string')) return position as Position;
  } catch {
    // Not base64 JSON: reported as a bad token below.
  }
  throw new QueryError('invalid continue token');
}

