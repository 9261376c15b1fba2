// Plugs workspaces into the WebSocket gateway: a page that says hello for a lab gets that lab's
// environment for its session (made on first use) and env-status updates until it disconnects.
import type { GatewayModule } from '../ws/gateway-module.ts';
import { WorkspaceError } from './workspace-manager.ts';
import type { WorkspaceManager } from './workspace-manager.ts';

export function createWorkspaceModule(workspaces: WorkspaceManager): GatewayModule {
  return {
    name: 'workspaces',
    handlers: {},
    onConnect(ctx) {
      try {
        workspaces.acquire(ctx.session.id, ctx.labId);
      } catch (e) {
        const message = e instanceof WorkspaceError ? e.message : 'could not prepare the lab hosts';
        ctx.send({ type: 'env-status', state: 'failed', hosts: [], message });
        return;
      }
      ctx.onClose(workspaces.subscribe(ctx.session.id, ctx.labId, (s) => ctx.send(s)));
    },
  };
}
