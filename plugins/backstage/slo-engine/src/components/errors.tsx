import { EmptyState, ResponseErrorPanel } from '@backstage/core-components';
import { ResponseError } from '@backstage/errors';
import { SLO_ENGINE_SERVICE_ID_ANNOTATION } from '../entityMapping';

/** A 404 from slo-engine says the service is unknown to it; anything else is an error. */
export function SloEngineError(props: { error: Error; serviceId: string }) {
  const { error, serviceId } = props;
  if (ResponseError.is(error) && error.response.status === 404) {
    return (
      <EmptyState
        missing="data"
        title={`slo-engine does not know the service "${serviceId}"`}
        description={`If this entity is another service in slo-engine, name it in the ${SLO_ENGINE_SERVICE_ID_ANNOTATION} annotation.`}
      />
    );
  }
  return <ResponseErrorPanel error={error} title="slo-engine could not be asked" />;
}
