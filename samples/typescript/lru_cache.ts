// A least-recently-used cache (self-written sample, MIT licence).
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {
    if (capacity <= 0) {
      throw new Error("capacity must be positive");
    }
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    if (this.entries.has(key)) {
      this.entries.delete(key);
    } else if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
  }
}

export function memoize<A extends string | number, R>(fn: (arg: A) => R, capacity = 100): (arg: A) => R {
  const cache = new LruCache<A, R>(capacity);
  return (arg: A) => {
    const hit = cache.get(arg);
    if (hit !== undefined) {
      return hit;
    }
    const result = fn(arg);
    cache.set(arg, result);
    return result;
  };
}
