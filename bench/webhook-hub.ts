/**
 * A git http-backend hub for the agent benches: every push is announced to whoever waits for the
 * next one (the bench's clock) and delivered as a signed webhook to the agent once it is known.
 */
import { startHubServer, type HubServer, type PushNotice } from '../src/git/hub-server.js';
import { deliverPushWebhook } from '../src/demo/webhook-relay.js';

export interface WebhookHub {
  hub: HubServer;
  /** URL of `hub.git`. */
  url: string;
  /** Resolves with the next push the hub receives. */
  nextPush: () => Promise<PushNotice>;
  /** From now on, pushes are delivered to this agent. */
  deliverTo: (agentUrl: string) => void;
}

export async function startWebhookHub(root: string, secret: string): Promise<WebhookHub> {
  let waiters: Array<(p: PushNotice) => void> = [];
  let agentUrl = '';
  const hub = await startHubServer({
    root,
    onPush: (p) => {
      for (const w of waiters) w(p);
      waiters = [];
      if (agentUrl) void deliverPushWebhook(agentUrl, secret, p);
    },
  });
  return {
    hub,
    url: hub.repoUrl('hub.git'),
    nextPush: () => new Promise<PushNotice>((r) => waiters.push(r)),
    deliverTo: (u) => {
      agentUrl = u;
    },
  };
}
