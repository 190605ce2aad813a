import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { entityRefOfService } from '../entityMapping';
import { ServiceEntityLookup } from './useServiceEntityRefs';

/** A service of slo-engine as a link to the catalog entity it stands for. */
export function ServiceLink(props: { serviceId: string; kind?: string | null; refs: ServiceEntityLookup }) {
  const { serviceId, kind, refs } = props;
  return (
    <EntityRefLink
      entityRef={entityRefOfService(serviceId, { annotated: refs.annotated, namespaces: refs.namespaces, kind })}
      data-service-id={serviceId}
    />
  );
}
