import { CompoundEntityRef, stringifyEntityRef } from '@backstage/catalog-model';

type Claim = { ref: CompoundEntityRef; seenAt: number };

/**
 * What the processor learns from the entities it processes, to map service ids back to
 * entities (docs/backstage.md, "Which entity is which service"): which entity names a
 * service id in its `slo-engine.io/service-id` annotation, and which namespaces the
 * catalog has. Each entry is refreshed whenever its entity is processed again and
 * forgotten `memoryMs` after that entity was last seen (or at once, when the entity is
 * processed without it), so a deleted entity or a removed annotation stops counting.
 * Where several entities name the same id, the smallest entity ref wins, whatever order
 * they were processed in.
 */
export class ServiceEntityIndex {
  /** service id → entity ref (string) → the entity's claim on it. */
  private readonly claims = new Map<string, Map<string, Claim>>();
  /** entity ref (string) → the service id its annotation names. */
  private readonly claimed = new Map<string, string>();
  /** namespace (lower case) → entity ref (string) → when last seen there. */
  private readonly namespaceSeen = new Map<string, Map<string, number>>();

  constructor(
    private readonly memoryMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a processed entity: its namespace and the service id it names, if any. */
  saw(entity: CompoundEntityRef, annotatedServiceId: string | undefined): void {
    const now = this.now();
    const key = stringifyEntityRef(entity);
    const namespace = entity.namespace.toLocaleLowerCase('en-US');
    const seen = this.namespaceSeen.get(namespace) ?? new Map<string, number>();
    seen.set(key, now);
    this.namespaceSeen.set(namespace, seen);

    const before = this.claimed.get(key);
    if (before !== undefined && before !== annotatedServiceId) {
      this.claims.get(before)?.delete(key);
      if (this.claims.get(before)?.size === 0) this.claims.delete(before);
      this.claimed.delete(key);
    }
    if (annotatedServiceId) {
      const claims = this.claims.get(annotatedServiceId) ?? new Map<string, Claim>();
      claims.set(key, { ref: entity, seenAt: now });
      this.claims.set(annotatedServiceId, claims);
      this.claimed.set(key, annotatedServiceId);
    }
  }

  /** The entity naming `serviceId` in its annotation, seen within the memory. */
  annotated(serviceId: string): CompoundEntityRef | undefined {
    const claims = this.claims.get(serviceId);
    if (!claims) return undefined;
    const oldest = this.now() - this.memoryMs;
    let best: [string, Claim] | undefined;
    for (const [key, claim] of claims) {
      if (claim.seenAt < oldest) {
        claims.delete(key);
        if (this.claimed.get(key) === serviceId) this.claimed.delete(key);
        continue;
      }
      if (!best || key < best[0]) best = [key, claim];
    }
    if (claims.size === 0) this.claims.delete(serviceId);
    return best?.[1].ref;
  }

  /** A namespace some entity seen within the memory is in (lower case). */
  hasNamespace(namespace: string): boolean {
    const seen = this.namespaceSeen.get(namespace);
    if (!seen) return false;
    const oldest = this.now() - this.memoryMs;
    for (const [key, at] of seen) if (at < oldest) seen.delete(key);
    if (seen.size === 0) this.namespaceSeen.delete(namespace);
    return seen.size > 0;
  }
}
