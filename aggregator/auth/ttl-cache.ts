/**
 * A map whose entries expire, bounded in size (the oldest insertion goes first when full):
 * review answers are cached briefly so that a busy caller is not reviewed per request.
 */
export class TtlCache<Value> {
  private readonly entries = new Map<string, { value: Value; expiresAtMs: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get(key: string): Value | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: Value, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAtMs: this.now() + ttlMs });
  }
}
