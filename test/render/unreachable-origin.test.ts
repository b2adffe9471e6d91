import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { freePort } from '../helpers/free-port.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

describe('an origin that cannot be reached', () => {
  let service: RunningService;
  let nameless: RunningService;
  let origin: string;

  beforeAll(async () => {
    // Nothing listens there: Chromium's connection is refused.
    origin = `http://127.0.0.1:${await freePort()}`;
    service = await startTestService({ sites: [{ id: 'down', name: 'Down', origin }] });
    nameless = await startTestService({ sites: [{ id: 'nameless', name: 'Nameless', origin: 'http://no-such-host.invalid' }] });
  });
  afterAll(async () => Promise.all([service?.stop(), nameless?.stop()]));

  it('fails the render saying why in plain words', async () => {
    const res = await fetch(lookupUrl(service, `${origin}/page`));
    expect(res.status).toBe(502);
    const body = await json<ErrorBody>(res);
    expect(body.detail).toContain('origin unreachable: connection refused');
  });

  it('says when the origin host has no address', async () => {
    const res = await fetch(lookupUrl(nameless, 'http://no-such-host.invalid/page'));
    expect(res.status).toBe(502);
    const body = await json<ErrorBody>(res);
    expect(body.detail).toContain('origin unreachable: host not found');
  });
});
