import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../src/render/address-policy.js';
import { RequestGuard } from '../../src/render/request-guard.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.100.100.200',
    '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1',
    '::ffff:127.0.0.1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1', 'ff02::1',
  ])('refuses %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('RequestGuard', () => {
  const site = { siteOrigin: 'http://127.0.0.1:8080', allowPrivateNetwork: false, isNavigation: false };
  const resolver = async (host: string) => (host === 'public.test' ? ['93.184.216.34'] : host === 'rebind.test' ? ['93.184.216.34', '10.0.0.1'] : ['127.0.0.1']);
  const guard = new RequestGuard(resolver);

  it('always allows the site origin, even on loopback', async () => {
    expect(await guard.check('http://127.0.0.1:8080/api', site)).toEqual({ allow: true });
  });

  it('refuses another port on loopback, metadata, and names that resolve privately', async () => {
    for (const url of ['http://127.0.0.1:9/', 'http://169.254.169.254/latest', 'http://[::1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://localhost.test/', 'http://rebind.test/']) {
      expect((await guard.check(url, site)).allow, url).toBe(false);
    }
  });

  it('allows public hosts, and private ones only when the site allows them', async () => {
    expect((await guard.check('https://public.test/x.js', site)).allow).toBe(true);
    expect((await guard.check('http://10.0.0.5/', { ...site, allowPrivateNetwork: true })).allow).toBe(true);
  });

  it('refuses file:, chrome: and data: navigations but lets data: subresources load', async () => {
    expect((await guard.check('file:///etc/passwd', site)).allow).toBe(false);
    expect((await guard.check('chrome://settings', site)).allow).toBe(false);
    expect((await guard.check('data:text/html,hi', { ...site, isNavigation: true })).allow).toBe(false);
    expect((await guard.check('data:image/png;base64,AA==', site)).allow).toBe(true);
  });
});
