import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Chip, List, ListItem, ListItemText, Typography } from '@material-ui/core';
import { sloEngineApiRef } from '../api/SloEngineApi';
import { serviceIdOfEntity } from '../entityMapping';
import { SloEngineError } from './errors';
import { ServiceLink } from './ServiceLink';
import { useAsyncValue } from './useAsyncValue';
import { useServiceEntityRefs } from './useServiceEntityRefs';

/**
 * Blast radius: who is down or degraded if this service fails, and why (the path).
 * @public
 */
export function SloEngineImpactPanel(props: { depth?: number; shown?: number }) {
  const { entity } = useEntity();
  const api = useApi(sloEngineApiRef);
  const serviceId = serviceIdOfEntity(entity);
  const depth = props.depth ?? 10;
  const shown = props.shown ?? 20;
  const state = useAsyncValue(
    () => api.getImpact(serviceId, { depth, includeStale: false }),
    [api, serviceId, depth],
  );
  const refs = useServiceEntityRefs(state.value?.affected.map(a => a.service_id) ?? []);

  let body;
  if (state.loading) {
    body = <Progress />;
  } else if (state.error) {
    body = <SloEngineError error={state.error} serviceId={serviceId} />;
  } else {
    const { totals, affected } = state.value;
    body = (
      <>
        <Typography variant="body1" data-testid="impact-totals">
          If it fails: {totals.down} down, {totals.degraded} degraded ({totals.affected} affected).
        </Typography>
        <List dense>
          {affected.slice(0, shown).map(service => (
            <ListItem key={service.service_id} data-testid={`impact-${service.service_id}`}>
              <ListItemText
                primary={
                  <>
                    <ServiceLink serviceId={service.service_id} kind={service.kind} refs={refs} />{' '}
                    <Chip
                      size="small"
                      color={service.impact === 'down' ? 'secondary' : 'default'}
                      label={service.impact}
                    />
                  </>
                }
                secondary={service.path.join(' → ')}
              />
            </ListItem>
          ))}
        </List>
        {affected.length > shown && (
          <Typography variant="body2" color="textSecondary">
            and {affected.length - shown} more.
          </Typography>
        )}
      </>
    );
  }
  return <InfoCard title="Blast radius (slo-engine)">{body}</InfoCard>;
}
