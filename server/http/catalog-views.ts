// Adapts the lab catalogue (server/labs) to what the API and gateway serve: attendee views only,
// built with toLabView so that checks and solves never leave the server.
import { toLabView } from '../../common/lab.ts';
import type { LabCatalog } from '../labs/lab-catalog.ts';
import type { LabViewSource } from './lab-source.ts';

export function catalogViews(catalog: LabCatalog): LabViewSource {
  return {
    list: () => catalog.list(),
    view: (id) => {
      const load = catalog.get(id);
      return load?.ok ? toLabView(load.lab) : undefined;
    },
    onChange: (listener) => catalog.onChange(listener),
  };
}
