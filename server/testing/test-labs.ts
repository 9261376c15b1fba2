// A small lab view used by the server's unit tests.
import type { LabView } from '../../common/lab.ts';

export function sampleLabView(id = 'demo', title = 'Demo lab'): LabView {
  return {
    id,
    meta: {
      title,
      summary: 'A lab for tests',
      hosts: ['host0', 'host1'],
      services: { etcd: 'cluster', docker: false },
      durationMinutes: 10,
      gate: 'hard',
      allowSkip: false,
    },
    intro: [{ kind: 'html', html: '<p>Intro</p>' }],
    steps: [
      {
        index: 0,
        id: 'first',
        title: 'First',
        parts: [
          { kind: 'html', html: '<p>Do it</p>' },
          { kind: 'run', id: 's0-r0', host: 'host0', code: 'etcdctl put /a b' },
          { kind: 'hint', html: '<p>Try harder</p>' },
        ],
        checkCount: 1,
        hasHints: true,
        canSkip: false,
      },
      { index: 1, id: 'second', title: 'Second', parts: [{ kind: 'html', html: '<p>More</p>' }], checkCount: 1, hasHints: false, canSkip: false },
    ],
  };
}
