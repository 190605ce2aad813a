import { useState } from 'react';
import { InfoCard, Progress, WarningPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import {
  Box,
  FormControl,
  FormControlLabel,
  InputLabel,
  Select,
  Switch,
  Typography,
} from '@material-ui/core';
import { sloEngineApiRef } from '../api/SloEngineApi';
import { Direction } from '../api/types';
import { serviceIdOfEntity } from '../entityMapping';
import { SloEngineError } from './errors';
import { sidesOf } from './graph';
import { ServiceTable } from './ServiceTable';
import { useAsyncValue } from './useAsyncValue';
import { useServiceEntityRefs } from './useServiceEntityRefs';

/** @public */
export type SloEngineDependenciesCardProps = {
  title?: string;
  /** Initial direction: `both` (dependencies and dependents) unless set. */
  defaultDirection?: Direction;
  /** Initial depth, 1 to 10: 1 unless set. */
  defaultDepth?: number;
  /** Initially show stale observed edges too: off unless set. */
  defaultIncludeStale?: boolean;
  /** The most services asked for in one answer (slo-engine's `max_nodes`). */
  maxNodes?: number;
};

const DEPTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/**
 * The entity's dependencies and dependents as slo-engine knows them (declared and seen
 * in traffic), with the depth, direction and stale-edge controls; circular
 * dependencies through the entity are flagged.
 * @public
 */
export function SloEngineDependenciesCard(props: SloEngineDependenciesCardProps) {
  const { entity } = useEntity();
  const api = useApi(sloEngineApiRef);
  const serviceId = serviceIdOfEntity(entity);
  const [direction, setDirection] = useState<Direction>(props.defaultDirection ?? 'both');
  const [depth, setDepth] = useState(Math.min(10, Math.max(1, props.defaultDepth ?? 1)));
  const [includeStale, setIncludeStale] = useState(props.defaultIncludeStale ?? false);
  const maxNodes = props.maxNodes ?? 500;

  const state = useAsyncValue(async () => {
    const [answer, cycles] = await Promise.all([
      api.getDependencies(serviceId, { direction, depth, includeStale, maxNodes }),
      api.getCycles(),
    ]);
    return { answer, sides: sidesOf(answer, direction, cycles) };
  }, [api, serviceId, direction, depth, includeStale, maxNodes]);
  const refs = useServiceEntityRefs(state.value?.answer.nodes.map(n => n.service_id) ?? []);

  const controls = (
    <Box display="flex" alignItems="center" flexWrap="wrap" mb={2} style={{ gap: 16 }}>
      <FormControl size="small">
        <InputLabel htmlFor="slo-engine-direction" shrink>
          Direction
        </InputLabel>
        <Select
          native
          value={direction}
          onChange={event => setDirection(event.target.value as Direction)}
          inputProps={{ id: 'slo-engine-direction', 'aria-label': 'Direction' }}
        >
          <option value="both">dependencies and dependents</option>
          <option value="downstream">dependencies</option>
          <option value="upstream">dependents</option>
        </Select>
      </FormControl>
      <FormControl size="small">
        <InputLabel htmlFor="slo-engine-depth" shrink>
          Depth
        </InputLabel>
        <Select
          native
          value={depth}
          onChange={event => setDepth(Number(event.target.value))}
          inputProps={{ id: 'slo-engine-depth', 'aria-label': 'Depth' }}
        >
          {DEPTHS.map(d => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </Select>
      </FormControl>
      <FormControlLabel
        control={
          <Switch
            checked={includeStale}
            onChange={event => setIncludeStale(event.target.checked)}
            inputProps={{ 'aria-label': 'Include stale edges' }}
          />
        }
        label="Include stale edges"
      />
    </Box>
  );

  let body;
  if (state.loading) {
    body = <Progress />;
  } else if (state.error) {
    body = <SloEngineError error={state.error} serviceId={serviceId} />;
  } else {
    const { answer, sides } = state.value;
    body = (
      <>
        {sides.rootCycles.map(cycle => (
          <WarningPanel
            key={cycle.alert_id}
            severity="warning"
            title={`Circular dependency (${cycle.status})`}
            message={cycle.cycle_path.join(' → ')}
          />
        ))}
        {answer.statistics.truncated && (
          <Typography variant="body2" color="textSecondary">
            Only the {answer.statistics.total_nodes} closest services are shown.
          </Typography>
        )}
        {direction !== 'upstream' && (
          <ServiceTable
            title="Dependencies"
            rows={sides.dependencies}
            refs={refs}
            empty="It depends on nothing slo-engine knows of."
          />
        )}
        {direction !== 'downstream' && (
          <ServiceTable
            title="Dependents"
            rows={sides.dependents}
            refs={refs}
            empty="Nothing slo-engine knows of depends on it."
          />
        )}
      </>
    );
  }

  return (
    <InfoCard title={props.title ?? 'Dependencies (slo-engine)'} subheader={`slo-engine service: ${serviceId}`}>
      {controls}
      {body}
    </InfoCard>
  );
}
