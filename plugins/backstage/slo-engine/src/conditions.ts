import { Entity } from '@backstage/catalog-model';

/**
 * For `EntitySwitch.Case if={isSloEngineAvailable}`: Components and Resources (the
 * kinds slo-engine's Backstage discovery reads as services).
 * @public
 */
export function isSloEngineAvailable(entity: Entity): boolean {
  const kind = entity.kind.toLocaleLowerCase('en-US');
  return kind === 'component' || kind === 'resource';
}
