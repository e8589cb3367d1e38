import { randomUUID, createHmac } from 'node:crypto';

/**
 * Plays GitHub's part in the demo and tests: after a push reaches the hub, deliver a signed
 * `push` webhook to every agent, exactly as GitHub would (HMAC-SHA256 over the raw body).
 */
export async function deliverPushWebhook(agentUrl: string, secret: string, push: { ref: string; before: string; after: string; repository?: string }): Promise<number> {
  const body = JSON.stringify({
    ref: push.ref,
    before: push.before,
    after: push.after,
    repository: { full_name: push.repository ?? 'kaidu/demo' },
    head_commit: { id: push.after },
  });
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  try {
    const res = await fetch(`${agentUrl.replace(/\/$/, '')}/hooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signature,
        'user-agent': 'GitHub-Hookshot/kaidu-demo',
      },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0; // agent not up (yet): like GitHub, log and move on
  }
}
