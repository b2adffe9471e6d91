import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service.js';
import { freePort } from '../helpers/free-port.js';
import { json, type ErrorBody } from '../helpers/json.js';
import { lookupUrl, startTestService } from '../helpers/service.js';

describe('an origin that cannot be reached', () => {
  let service: RunningService;
  let origin: string;

  beforeAll(async () => {
    // Nothing listens there: the egress proxy's connection is refused.
    origin = `http://127.0.0.1:${await freePort()}`;
    service = await startTestService({ sites: [{ id: 'down', name: 'Down', origin }] });
  });
  afterAll(async () => service?.stop());

  it('fails the render saying so, never "origin answered 594" (the egress proxy\'s own status)', async () => {
    const res = await fetch(lookupUrl(service, `${origin}/page`));
    expect(res.status).toBe(502);
    const body = await json<ErrorBody>(res);
    expect(body.detail).toContain('origin unreachable: connection refused');
    expect(body.detail).not.toContain('594');
  });
});
