/** A typed array of `size` elements starting with `old`'s: a column or list that outgrew its array. */
export function grown<T extends Float64Array | Int32Array>(old: T, size: number, make: (n: number) => T): T {
  const next = make(size);
  next.set(old);
  return next;
}
