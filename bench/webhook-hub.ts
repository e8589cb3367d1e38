/**
 * A git http-backend hub for the agent benches: every push is announced to whoever waits for it
 * (the bench's clock) and delivered as a signed webhook to the agents once they are known.
 */
import { startHubServer, type HubServer, type PushNotice } from '../src/git/hub-server.js';
import { deliverPushWebhook } from '../src/demo/webhook-relay.js';

/** The hub's pushes from the moment it was made on, one by one: none is missed, however they come. */
export interface PushReader {
  next: () => Promise<PushNotice>;
}

export interface WebhookHub {
  hub: HubServer;
  /** URL of `hub.git`. */
  url: string;
  /** Resolves with the next push the hub receives. */
  nextPush: () => Promise<PushNotice>;
  /** Reads the pushes the hub receives from now on. */
  pushes: () => PushReader;
  /** From now on, pushes are delivered to these agents (each one, as a hub's webhook would). */
  deliverTo: (...agentUrls: string[]) => void;
}

export async function startWebhookHub(root: string, secret: string): Promise<WebhookHub> {
  const log: PushNotice[] = [];
  let wake: Array<() => void> = [];
  let agentUrls: string[] = [];
  const hub = await startHubServer({
    root,
    onPush: (p) => {
      log.push(p);
      for (const w of wake) w();
      wake = [];
      for (const u of agentUrls) void deliverPushWebhook(u, secret, p);
    },
  });
  const pushes = (): PushReader => {
    let i = log.length;
    return {
      next: async () => {
        while (i >= log.length) await new Promise<void>((r) => wake.push(r));
        return log[i++]!;
      },
    };
  };
  return {
    hub,
    url: hub.repoUrl('hub.git'),
    nextPush: () => pushes().next(),
    pushes,
    deliverTo: (...urls) => {
      agentUrls = urls;
    },
  };
}
