import { CompoundEntityRef } from '@backstage/catalog-model';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import { entityRefOfService } from '../entityMapping';

/** A service of slo-engine as a link to the catalog entity it stands for. */
export function ServiceLink(props: {
  serviceId: string;
  refs: ReadonlyMap<string, CompoundEntityRef>;
}) {
  return (
    <EntityRefLink
      entityRef={entityRefOfService(props.serviceId, props.refs)}
      data-service-id={props.serviceId}
    />
  );
}
