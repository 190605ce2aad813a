import { Grid } from '@material-ui/core';
import { SloEngineAvailabilityPanel } from './SloEngineAvailabilityPanel';
import { SloEngineDependenciesCard, SloEngineDependenciesCardProps } from './SloEngineDependenciesCard';
import { SloEngineImpactPanel } from './SloEngineImpactPanel';

/**
 * The entity page tab: dependencies and dependents, blast radius, availability ceiling.
 * @public
 */
export function SloEngineContent(props: SloEngineDependenciesCardProps) {
  return (
    <Grid container spacing={3} alignItems="stretch">
      <Grid item xs={12}>
        <SloEngineDependenciesCard defaultDepth={2} {...props} />
      </Grid>
      <Grid item xs={12} md={6}>
        <SloEngineImpactPanel />
      </Grid>
      <Grid item xs={12} md={6}>
        <SloEngineAvailabilityPanel />
      </Grid>
    </Grid>
  );
}
