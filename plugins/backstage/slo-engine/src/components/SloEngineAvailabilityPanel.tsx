import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { List, ListItem, ListItemText, Typography } from '@material-ui/core';
import { sloEngineApiRef } from '../api/SloEngineApi';
import { serviceIdOfEntity } from '../entityMapping';
import { SloEngineError } from './errors';
import { useAsyncValue } from './useAsyncValue';

/** 0.99302097 → "99.302%" */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(3)}%`;
}

/**
 * Availability ceiling: the best availability the service can promise given what it
 * cannot work without, the arithmetic, and the dependencies that cost it most.
 * @public
 */
export function SloEngineAvailabilityPanel() {
  const { entity } = useEntity();
  const api = useApi(sloEngineApiRef);
  const serviceId = serviceIdOfEntity(entity);
  const state = useAsyncValue(
    () => api.getAvailability(serviceId, { includeStale: false }),
    [api, serviceId],
  );

  let body;
  if (state.loading) {
    body = <Progress />;
  } else if (state.error) {
    body = <SloEngineError error={state.error} serviceId={serviceId} />;
  } else {
    const answer = state.value;
    body = (
      <>
        <Typography variant="h5" component="p" data-testid="availability-ceiling">
          {percent(answer.ceiling)} ({answer.nines.toFixed(2)} nines)
        </Typography>
        <Typography variant="body2" color="textSecondary">
          through {answer.dependencies} hard dependencies; a target not set counts as{' '}
          {percent(answer.default_slo_target)}.
        </Typography>
        <Typography variant="body2" component="pre" style={{ whiteSpace: 'pre-wrap' }}>
          {answer.arithmetic}
        </Typography>
        <List dense aria-label="Costliest dependencies">
          {answer.limiting.slice(0, 5).map(unit => (
            <ListItem key={unit.unit}>
              <ListItemText
                primary={unit.members.join(', ')}
                secondary={`costs ${percent(unit.cost)}; without it ${percent(unit.ceiling_without)}`}
              />
            </ListItem>
          ))}
        </List>
      </>
    );
  }
  return <InfoCard title="Availability ceiling (slo-engine)">{body}</InfoCard>;
}
