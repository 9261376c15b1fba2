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
      // Refused (the attendee's workshop ended or expired, now or while the hosts were being
      // made): the page is closed with the refusal's code, which tells it not to reconnect.
      const refused = (e: unknown): boolean => {
        if (!(e instanceof WorkspaceError) || e.code !== 'refused' || e.closeCode === undefined) return false;
        ctx.close(e.closeCode, e.message);
        return true;
      };
      let workspace;
      try {
        workspace = workspaces.acquire(ctx.session.id, ctx.labId);
      } catch (e) {
        if (refused(e)) return;
        const message = e instanceof WorkspaceError ? e.message : 'could not prepare the lab hosts';
        ctx.send({ type: 'env-status', state: 'failed', hosts: [], message });
        return;
      }
      workspace.whenReady().catch(refused);
      ctx.onClose(workspaces.subscribe(ctx.session.id, ctx.labId, (s) => ctx.send(s)));
    },
  };
}
