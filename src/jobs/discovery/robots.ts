import robotsParserModule from 'robots-parser';
import type { Site } from '../../sites/site.js';
import type { FetchedDocument } from './guarded-fetch.js';

export interface RobotsRules {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getSitemaps(): string[];
}
// The package's types declare an ES default export; at run time module.exports is the function.
const robotsParser = robotsParserModule as unknown as (url: string, contents: string) => RobotsRules;

/** The site's robots.txt rules; no rules (everything allowed, no sitemaps) when it cannot be read. */
export async function readRobots(site: Site, fetch: (url: string) => Promise<FetchedDocument>): Promise<RobotsRules> {
  const robotsUrl = `${site.origin}/robots.txt`;
  try {
    const res = await fetch(robotsUrl);
    return robotsParser(robotsUrl, res.status === 200 ? res.body.toString('utf8') : '');
  } catch {
    return robotsParser(robotsUrl, '');
  }
}
