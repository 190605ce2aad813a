import {
  Box,
  Chip,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@material-ui/core';
import { Row } from './graph';
import { ServiceLink } from './ServiceLink';
import { ServiceEntityLookup } from './useServiceEntityRefs';

function sourcesOf(row: Row): string {
  const sources = new Set(row.edges.flatMap(edge => edge.discovery_sources));
  return [...sources].sort().join(', ');
}

/** One side of the root (its dependencies, or its dependents), one row a service. */
export function ServiceTable(props: {
  title: string;
  rows: Row[];
  refs: ServiceEntityLookup;
  empty: string;
}) {
  const { title, rows, refs, empty } = props;
  return (
    <Box mb={2} component="section" aria-label={title}>
      <Typography variant="h6" component="h3">
        {title} ({rows.length})
      </Typography>
      {rows.length === 0 ? (
        <Typography variant="body2" color="textSecondary">
          {empty}
        </Typography>
      ) : (
        <Table size="small">
          <TableHead>
            <TableRow>
              <TableCell>Service</TableCell>
              <TableCell>Hops</TableCell>
              <TableCell>Team</TableCell>
              <TableCell>Criticality</TableCell>
              <TableCell>Reported by</TableCell>
              <TableCell>Flags</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.map(row => (
              <TableRow key={row.service_id} data-testid={`service-row-${row.service_id}`}>
                <TableCell>
                  <ServiceLink serviceId={row.service_id} kind={row.kind} refs={refs} />
                </TableCell>
                <TableCell>{row.depth}</TableCell>
                <TableCell>{row.team ?? '—'}</TableCell>
                <TableCell>{row.criticality ?? '—'}</TableCell>
                <TableCell>{sourcesOf(row)}</TableCell>
                <TableCell>
                  {row.inCycle && <Chip size="small" color="secondary" label="cycle" />}
                  {row.observed && <Chip size="small" label="observed" />}
                  {row.stale && <Chip size="small" variant="outlined" label="stale" />}
                  {row.discovered && <Chip size="small" variant="outlined" label="not in a catalog" />}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Box>
  );
}
